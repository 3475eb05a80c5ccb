#pragma once
// Daemon configuration: command-line flags and a JSON config file with the
// same keys as the long flags. Flags given on the command line win over the
// file; an unknown key in the file is an error (as dockerd's daemon.json).
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "runtime/kube/kube_runtime.h"

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

  // The kube backend, with kubedock's flag names and meanings (docs/daemon.md).
  std::string kubeconfig;    // empty: $KUBECONFIG, ~/.kube/config, then the in-cluster service account
  std::string kubeContext;   // empty: the kubeconfig's current context
  std::string kubeNamespace;  // empty: the context's (or the service account's) namespace
  std::string kubeTimeout = "60s";  // scheduling, pulling and starting a pod
  std::string helperImage;   // where Berth publishes its in-pod helper (the cluster pulls it)
  std::string podNamePrefix = "berth";
  std::string pullPolicy;  // always, ifnotpresent, never; empty: the cluster's default
  std::vector<std::string> imagePullSecrets, nodeSelector;  // names; key=value (commas split both)
  std::string serviceAccount;
  int64_t activeDeadlineSeconds = -1;  // -1: none
  int64_t runasUser = -1;              // -1: the image's user
  bool ignoreContainerMemory = false;
  std::string requestCpu, requestMemory, requestEphemeralStorage;  // request[,limit]
  std::vector<std::string> podLabels, podAnnotations;  // key=value on every pod
  bool portForward = false, reverseProxy = false;  // published ports bound here: through pods/portforward, or to pod IPs
  std::vector<std::string> bindRoots;  // directories binds may be copied from into pods
  bool pruneStart = false;             // remove every Berth pod of the namespace at start
  bool lock = false;                   // one Berth at a time in the namespace (a Lease)
  std::string podTemplate;             // a Pod in YAML every pod starts from
  std::string lockTimeout = "15m";     // how long a start waits for that Lease
  std::string reapMax = "60m";         // containers older than this are removed; "0": never
  std::string storageClass;            // named volumes as PersistentVolumeClaims of this class; empty: emptyDirs
  std::string volumeSize = "1Gi";      // a claim's storage request
  bool disableDind = false;            // no Docker socket served in pods
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

// Checks values: backend, log level and format, labels, TLS files, timeouts,
// and the kube backend's settings when it is chosen.
absl::Status validate(const DaemonConfig& cfg);

// The kube settings of `cfg`, with kubedock's K8S_LABEL_<NAME> and
// K8S_ANNOTATION_<NAME> variables (label or annotation <name>, lower case)
// under the flags' own. InvalidArgument naming the flag for a bad value.
// `environment` holds "NAME=value" entries (processEnvironment()).
absl::StatusOr<runtime::kube::KubeBackendOptions> kubeSettings(const DaemonConfig& cfg, const std::vector<std::string>& environment);
std::vector<std::string> processEnvironment();

// kubedock's durations: "90", "90s", "2m", "1m30s", "1h". Seconds.
absl::StatusOr<int64_t> parseDurationSeconds(std::string_view text);

}  // namespace berth::daemon
