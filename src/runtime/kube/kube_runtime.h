#pragma once
// The kube backend's runtime: each container is a Pod (pod_builder.h),
// started and watched through one informer (no polling), signalled and
// read through the in-pod helper over exec.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/kube/kube_client.h"
#include "runtime/kube/namespace_lock.h"
#include "runtime/kube/pod_builder.h"
#include "runtime/kube/pod_informer.h"
#include "runtime/kube/pod_session.h"
#include "runtime/kube/port_tunnel.h"
#include "runtime/kube/socket_relay.h"
#include "runtime/kube/volume_claims.h"
#include "runtime/runtime.h"

namespace berth::runtime::kube {

struct KubeRuntimeOptions {
  PodOptions pod;
  int64_t startTimeoutSeconds = 60;  // kubedock's --timeout: scheduling, pulling and starting
  PortAccess ports = PortAccess::kNone;  // --port-forward, --reverse-proxy
  std::vector<std::string> bindRoots;     // --bind-root, as real paths: where binds may come from
  bool pruneStart = false;                // --prune-start: every Berth pod of the namespace goes first
  int64_t lockTimeoutSeconds = 0;         // --lock: hold the namespace's Lease, waiting this long for it; 0: no lock
  int64_t reapMaxSeconds = 3600;          // --reapmax: other instances' pods go this + 15 min after creation; 0: never
  std::function<void()> reapOwn;          // each reaper round: the engine removes its own containers (then unused volumes) past reapMax
  std::string apiSocket;                  // Berth's own unix socket: what Docker socket mounts in pods reach
  ClaimDefaults volumes;                  // --storage-class, --volume-size: named volumes as claims
  bool disableDind = false;               // --disable-dind: Docker socket binds are refused
};

// What Berth makes in a namespace, labelled with its instance; pods first (a
// pod's Service and ConfigMap go with it), so what the later kinds list is
// what a crash left apart from a pod.
inline constexpr std::string_view kBerthKinds[] = {"pods", "services", "configmaps", "persistentvolumeclaims"};

// Whether the reaper removes `object` (a Berth object of any kind and any
// instance): another instance's, created more than reapMax + 15 minutes
// before `now` (its own daemon, if alive, removes it after reapMax).
bool reapable(const nlohmann::json& object, const std::string& instance, int64_t reapMaxSeconds,
              std::chrono::system_clock::time_point now);

// Everything the daemon's flags say about the backend: which cluster, and the runtime's options.
struct KubeBackendOptions {
  std::string kubeconfig;  // empty: loadKubeConfig's search
  std::string context;     // empty: the current context
  std::string nameSpace;   // empty: the context's
  KubeRuntimeOptions runtime;
};

class KubeRuntime final : public Runtime {
 public:
  // Lists this instance's pods and starts watching them.
  static absl::StatusOr<std::unique_ptr<KubeRuntime>> create(std::unique_ptr<KubeClient> client,
                                                             KubeRuntimeOptions options);
  ~KubeRuntime() override;

  const std::string& helperImage() const { return options_.pod.helperImage; }
  bool onThisMachine() const override { return false; }
  bool publishesPortsHere() const override { return options_.ports != PortAccess::kNone; }
  absl::StatusOr<UniqueFd> dialPort(const std::string& id, uint16_t port) override;
  absl::StatusOr<Started> start(const ContainerSpec& spec, StartOptions options) override;
  std::vector<std::string> volumeOptions() const override { return claimOptions(); }
  absl::StatusOr<std::optional<StoredVolume>> createVolume(const std::string& name,
                                                           const std::map<std::string, std::string>& options) override;
  absl::Status removeVolume(const std::string& handle) override;
  absl::StatusOr<Started> exec(const std::string& containerId, const std::string& execId, const ContainerSpec& process,
                               StartOptions options) override;
  std::optional<ExitStatus> exited(const std::string& id) override;
  void watch(const std::string& id, std::function<void(ExitStatus)> onExit) override;
  absl::Status kill(const std::string& id, int signal) override;
  absl::StatusOr<UniqueFd> attach(const std::string& id, std::string_view streams) override;
  absl::Status resize(const std::string& id, unsigned rows, unsigned cols) override;
  absl::Status pause(const std::string& id, bool paused) override;
  absl::StatusOr<std::vector<pid_t>> pids(const std::string& id) override;
  absl::StatusOr<ResourceStats> stats(const std::string& id) override;
  absl::Status withRootfs(const std::string& id, const ContainerSpec& spec,
                          const std::function<absl::Status(int rootFd)>& fn) override;
  absl::StatusOr<PathInfo> statPath(const std::string& id, const std::string& path) override;
  absl::Status archivePath(const std::string& id, const std::string& path, int outFd) override;
  absl::Status copyIn(const std::string& id, const std::string& path, int treeFd, const CopyOptions& options) override;
  std::vector<std::string> limitWarnings(const Resources& resources) const override;
  absl::Status updateResources(const std::string& id, const Resources& resources,
                               std::vector<std::string>& warnings) override;
  std::string writableLayer(const std::string& id) override;
  absl::StatusOr<std::unique_ptr<LogCursor>> openLogs(const std::string& id, int64_t tail) override;
  void cleanup(const std::string& id) override;
  absl::Status remove(const std::string& id) override;
  void removeEverything() override;

 private:
  KubeRuntime(std::unique_ptr<KubeClient> client, KubeRuntimeOptions options);
  std::string podOf(const std::string& id) const { return podName(options_.pod, id); }
  // Serves the pod's Docker socket while the pod is there.
  void serveSocket(const std::string& pod);
  // Deletes the pod (grace 0), its Service and its ConfigMap, without waiting.
  void discard(const std::string& pod);
  // Objects of `kind` (one of kBerthKinds) any Berth instance made.
  absl::StatusOr<std::vector<nlohmann::json>> berthObjects(std::string_view kind);
  // One object (a pod without grace); gone already is fine, failures are logged.
  void removeObject(std::string_view kind, const std::string& name);
  void reapLoop();
  // Deletes the pod (now) and waits until it is gone.
  absl::Status deletePod(const std::string& pod);
  // Runs the helper in `container` of the pod; its exit code.
  // stdout (and stderr, unless `errors` takes it) in `output`.
  absl::StatusOr<int> helper(const std::string& pod, const char* container, std::vector<std::string> args,
                             std::string* output = nullptr, std::string* errors = nullptr);
  // A stream to `archive put` into `path` of the pod's container, and the
  // tree sent down it (copy_ops.h).
  absl::StatusOr<std::unique_ptr<PodStream>> openPut(const std::string& pod, const char* container,
                                                     const std::string& path, const CopyOptions& options);
  absl::Status putTree(PodStream& stream, int treeFd, const std::string& path);
  // Creates the ConfigMap, replacing an earlier one of the same name.
  absl::Status putConfigMap(const nlohmann::json& configMap);
  // FailedPrecondition unless the container's process runs (docker cp's text).
  absl::Status requireRunning(const std::string& id);
  // The helper in a running container's main container; FailedPrecondition
  // when it is not running.
  absl::StatusOr<int> helperInRunning(const std::string& id, std::vector<std::string> args, std::string* output,
                                      std::string* errors);
  // An attach session on `connection` (the engine's, hello read): the log
  // from the last `tail` lines (-1: all, for a connection made before start).
  absl::Status attachSession(const std::string& id, UniqueFd connection, std::string streams, int64_t tail);
  absl::Status copyBeforeStart(const std::string& id, const std::vector<PendingCopy>& copies);
  // Ends an exec: its exit recorded, its watchers told; the code for kExit.
  int execEnded(const std::string& key, const absl::StatusOr<int>& streamResult);

  std::unique_ptr<KubeClient> client_;
  std::unique_ptr<NamespaceLock> lock_;  // --lock; released after everything else has gone
  const KubeRuntimeOptions options_;
  PodInformer informer_;
  SessionTracker sessions_;
  PortTunnels tunnels_{*client_, sessions_};
  SocketRelays relays_{tunnels_, sessions_, options_.apiSocket};
  struct Exec {
    std::shared_ptr<PodSession> session;
    std::optional<ExitStatus> exit;
    std::vector<std::function<void(ExitStatus)>> watchers;
  };
  std::mutex mu_;
  std::map<std::string, Exec> execs_;                                      // by execKey
  std::map<std::string, std::vector<std::weak_ptr<PodSession>>> attaches_;  // by container id
  // The reaper of other instances' leftovers.
  std::mutex reapMu_;
  std::condition_variable reapWake_;
  bool stopping_ = false;  // guarded by reapMu_
  std::thread reaper_;
};

// What a pod's state says about its main container (exposed for tests).
struct MainState {
  enum Kind { kPending, kRunning, kExited, kFailed } kind = kPending;
  ExitStatus exit;      // kExited
  std::string message;  // kFailed: why it cannot start; kPending: what it waits for
  std::string startedAt;  // kRunning, kExited: the cluster's RFC 3339 time
};
MainState mainState(const nlohmann::json* pod);
// The exit the pod's state stands for, once it has ended: the main
// container's, or 137 for a pod deleted or failed without one.
std::optional<ExitStatus> exitOf(const nlohmann::json* pod);

}  // namespace berth::runtime::kube
