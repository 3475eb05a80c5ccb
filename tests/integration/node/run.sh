#!/usr/bin/env bash
# Installs dockerode from the npm registry (pinned by package-lock.json) and
# runs the Node tests with node's own test runner.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [[ ! -d node_modules/dockerode ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node --test
