#!/usr/bin/env bash
# Runs Berth's integration tests against the real binary.
#   BERTH_BIN   path to the berth binary (default build/release/src/daemon/berth)
#   extra args  passed to unittest, e.g.  ./run.sh test_http.HTTPTest.test_head_ping
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# Prefers docker-py 7 (what clients ship today); Debian's python3-docker (5.x)
# is the fallback on a machine without it.
pick_python() {
    local c min
    for min in 7 5; do
        for c in "${PYTHON:-}" python3 /usr/local/bin/python3 /usr/bin/python3; do
            [ -n "$c" ] || continue
            command -v "$c" >/dev/null 2>&1 || continue
            if "$c" -c "import sys, docker; sys.exit(0 if int(docker.__version__.split('.')[0]) >= $min else 1)" >/dev/null 2>&1; then
                echo "$c"; return 0
            fi
        done
    done
    return 1
}

py="$(pick_python)" || { echo "run.sh: no python3 with docker-py >= 5 found" >&2; exit 2; }
export BERTH_BIN="${BERTH_BIN:-$here/../../build/release/src/daemon/berth}"
if [ ! -x "$BERTH_BIN" ]; then
    echo "run.sh: berth binary not found at $BERTH_BIN (set BERTH_BIN)" >&2
    exit 2
fi

if [ "$#" -gt 0 ]; then
    exec "$py" -m unittest -v "$@"
fi
exec "$py" -m unittest -v test_http test_cli test_dockerpy test_daemon test_tls test_activation test_rootless test_images test_containers test_volumes test_run test_network
