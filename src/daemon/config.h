#pragma once
// Daemon configuration: command-line flags and a JSON config file with the
// same keys as the long flags. Flags given on the command line win over the
// file; an unknown key in the file is an error (as dockerd's daemon.json).
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace berth::daemon {

struct DaemonConfig {
  std::vector<std::string> hosts;
  std::string dataRoot;
  std::string backend = "local";
  std::string configFile;
  std::string logLevel = "info";
  std::string logFormat = "text";
  std::vector<std::string> labels;
  std::string group;
  bool tls = false;
  bool tlsVerify = false;
  std::string tlsCaCert, tlsCert, tlsKey;
  bool insecureTcp = false;
  int requestReadTimeout = 60;
  int shutdownTimeout = 15;
  bool debug = false;
  std::vector<std::string> insecureRegistries;  // host[:port] or CIDR: plain HTTP allowed
  int maxConcurrentDownloads = 3;
  int64_t maxLayerBytes = int64_t(64) << 30;  // unpacked bytes per layer (decompression bombs)
  std::string hostGatewayIp;  // what --add-host …:host-gateway means; empty: the default (daemon.cpp)
};

// Environment seam for tests: returns a variable's value or nullopt.
using GetEnv = std::function<std::optional<std::string>(std::string_view)>;
GetEnv processEnv();

// The file's keys applied onto `cfg`, skipping keys named in `fromFlags`
// (long flag names without dashes). InvalidArgument naming the key for an
// unknown key or a value of the wrong type.
absl::Status applyConfigJson(const nlohmann::json& file, const std::set<std::string>& fromFlags, DaemonConfig& cfg);

// Reads and applies a config file. A missing file is NotFound.
absl::Status applyConfigFile(const std::string& path, const std::set<std::string>& fromFlags, DaemonConfig& cfg);

// Where the config file is looked for when --config-file is not given.
std::string defaultConfigFile(bool root, const GetEnv& env);

// Fills hosts and data root with the defaults for root or a normal user:
// /run/berth/berth.sock and /var/lib/berth, or $XDG_RUNTIME_DIR/berth/berth.sock
// and $XDG_DATA_HOME/berth (~/.local/share/berth).
absl::Status resolveDefaults(DaemonConfig& cfg, bool root, const GetEnv& env);

// Checks values: backend, log level and format, labels, TLS files, timeouts.
absl::Status validate(const DaemonConfig& cfg);

}  // namespace berth::daemon
