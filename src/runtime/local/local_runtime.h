#pragma once
// The local runtime: each container is a directory under
// <data-root>/containers/<id> (spec.json, upper/work/rootfs, the log, the
// monitor's socket and exit file), a berth-monitor process, and the setup
// helper that monitor runs. The daemon keeps one connection to every
// running container's monitor, watched by one epoll thread, to learn of exits.
#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/local/cgroups.h"
#include "runtime/runtime.h"
#include "util/unique_fd.h"

namespace berth::runtime::local {

struct LocalRuntimeOptions {
  std::string containersDir;  // <data-root>/containers
  std::string berthBinary;    // runs the setup helper
  std::string monitorBinary;
  bool rootless = false;
};

class LocalRuntime final : public Runtime {
 public:
  explicit LocalRuntime(LocalRuntimeOptions options);
  ~LocalRuntime() override;

  absl::StatusOr<Started> start(const ContainerSpec& spec, StartOptions options) override;
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
  std::vector<std::string> limitWarnings(const Resources& resources) const override;
  absl::Status updateResources(const std::string& id, const Resources& resources,
                               std::vector<std::string>& warnings) override;
  std::string writableLayer(const std::string& id) override { return containerDir(id) + "/upper"; }
  absl::StatusOr<std::unique_ptr<LogCursor>> openLogs(const std::string& id, int64_t tail) override;
  void cleanup(const std::string& id) override;
  absl::Status remove(const std::string& id) override;

  std::string containerDir(const std::string& id) const { return options_.containersDir + "/" + id; }

 private:
  struct Watch {
    std::string id;
    UniqueFd fd;
    std::function<void(ExitStatus)> onExit;
    std::string buffer;
  };
  absl::StatusOr<Started> spawnMonitor(const std::string& id, const std::string& dir, bool tty, StartOptions options,
                                       bool exec, std::vector<std::string> warnings);
  void watcherLoop();
  void deliverExit(Watch& w);
  ExitStatus readExit(const std::string& id);
  std::vector<std::string> cgroupsOf(const std::string& id) const;
  absl::StatusOr<UniqueFd> connectMonitor(const std::string& id);

  const LocalRuntimeOptions options_;
  const CgroupLayout cgroups_;
  UniqueFd epoll_, wake_;
  std::mutex mu_;
  std::map<int, Watch> watches_;                // guarded by mu_: by fd
  std::vector<Watch> exitedUnwatched_;          // guarded by mu_: delivered by the thread
  std::map<std::string, UniqueFd> controlFds_;  // guarded by mu_: from start(), taken by watch()
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace berth::runtime::local
