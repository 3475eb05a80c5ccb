#pragma once
// The composition root: the only code that picks concrete implementations
// (store, engine, backend) and wires them to the API server.
#include <set>
#include <string>

#include "daemon/config.h"

namespace berth::daemon {

// Runs `berth serve` until SIGTERM/SIGINT; returns the process exit code.
// `fromFlags` names the options given on the command line (they win over
// the config file, also on SIGHUP reload).
int runServe(DaemonConfig cfg, const std::set<std::string>& fromFlags);

}  // namespace berth::daemon
