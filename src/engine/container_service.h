#pragma once
// The container area of the engine: create (dockerd's merge of the image
// config, name rules and conflicts, HostConfig defaults and validation),
// inspect, list with every filter, rename, remove, prune. Records live in
// the state database as Docker's inspect document plus a private "Berth"
// section. Running containers arrive with the local runtime (issue #4).
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/backend/container_backend.h"
#include "engine/container_spec.h"
#include "engine/event_bus.h"
#include "engine/scheduler.h"
#include "engine/image_service.h"
#include "engine/network_service.h"
#include "engine/volume_service.h"
#include "runtime/runtime.h"
#include "store/state_store.h"

namespace berth::engine {

class ContainerService final : public api::backend::ContainerBackend, public ContainerNetworking {
 public:
  ContainerService(store::StateStore& db, ImageService& images, VolumeService& volumes, NetworkService& networks,
                   EventBus& events, std::string graphDriver, runtime::Runtime& runtime, Scheduler& scheduler,
                   SpecContext specContext);

  absl::StatusOr<api::backend::ContainerCreated> createContainer(const api::backend::ContainerCreateRequest& req) override;
  absl::StatusOr<nlohmann::ordered_json> inspectContainer(std::string_view name, bool size) override;
  absl::StatusOr<std::vector<nlohmann::ordered_json>> listContainers(
      const api::backend::ContainerListOptions& options) override;
  absl::Status renameContainer(std::string_view name, std::string_view newName) override;
  absl::Status removeContainer(std::string_view name, const api::backend::ContainerRemoveOptions& options) override;
  absl::StatusOr<api::backend::ContainerPruneReport> pruneContainers(const api::types::Filters& filters) override;

  absl::StatusOr<bool> startContainer(std::string_view name) override;
  absl::StatusOr<bool> stopContainer(std::string_view name, std::string_view signal, std::optional<int> timeoutSeconds,
                                     std::function<void()> done) override;
  absl::Status restartContainer(std::string_view name, std::optional<int> timeoutSeconds,
                                std::function<void(absl::Status)> done) override;
  absl::Status killContainer(std::string_view name, std::string_view signal) override;
  absl::Status pauseContainer(std::string_view name, bool paused) override;
  absl::StatusOr<std::optional<api::backend::WaitResult>> waitContainer(std::string_view name,
                                                                        api::backend::WaitCondition condition,
                                                                        api::backend::WaitCallback done) override;
  absl::StatusOr<api::backend::AttachTarget> attachContainer(std::string_view name, std::string_view streams) override;
  absl::Status resizeContainer(std::string_view name, unsigned rows, unsigned cols) override;
  absl::StatusOr<std::unique_ptr<api::backend::LogReader>> containerLogs(std::string_view name,
                                                                         const api::backend::LogsOptions& options) override;
  absl::StatusOr<api::backend::ProcessTable> topContainer(std::string_view name, std::string_view psArgs) override;
  absl::StatusOr<nlohmann::ordered_json> containerStats(std::string_view name,
                                                        const nlohmann::ordered_json* previous) override;

  absl::StatusOr<std::string> createExec(std::string_view container, const nlohmann::json& body) override;
  absl::StatusOr<api::backend::AttachTarget> startExec(std::string_view execId, bool detach) override;
  absl::StatusOr<nlohmann::ordered_json> inspectExec(std::string_view execId) override;
  absl::Status resizeExec(std::string_view execId, unsigned rows, unsigned cols) override;

  absl::StatusOr<api::backend::PathStat> statContainerPath(std::string_view name, std::string_view path) override;
  absl::StatusOr<std::pair<api::backend::PathStat, UniqueFd>> archiveContainerPath(std::string_view name,
                                                                                  std::string_view path) override;
  absl::StatusOr<UniqueFd> scratchFile() override;
  absl::Status extractToContainer(std::string_view name, std::string_view path, int tarFd, bool noOverwriteDirNonDir,
                                  bool copyUIDGID) override;

  absl::StatusOr<std::vector<std::string>> updateContainer(std::string_view name, const nlohmann::json& body) override;
  absl::StatusOr<std::vector<api::backend::FsChange>> containerChanges(std::string_view name) override;
  absl::StatusOr<UniqueFd> exportContainer(std::string_view name) override;

  // ContainerNetworking: docker network connect/disconnect.
  absl::Status connectContainer(std::string_view container, const std::string& networkId,
                                const nlohmann::json& endpointConfig) override;
  absl::Status disconnectContainer(std::string_view container, const std::string& networkId, bool force) override;

  // At daemon start: watch the containers an earlier daemon left running
  // (their monitors outlive it), settle those that exited meanwhile, and
  // start the ones whose restart policy says so.
  void reconcile();
  // At daemon stop: no restarts are scheduled from here on.
  void shutdown();
  // The runtime removed everything of every container at once (the kube
  // backend at shutdown, or --prune-start): their records and what was kept
  // for them here go too.
  void forgetAll();
  // Removes (forced, with anonymous volumes) the containers created more
  // than `maxAge` ago: the kube backend's --reapmax.
  void reapOlderThan(std::chrono::seconds maxAge);

  // Which images containers use, for image removal and GC.
  absl::StatusOr<std::vector<ImageUse>> imageUses();
  // Volume name → ids of the containers that mount it.
  absl::StatusOr<std::map<std::string, std::vector<std::string>>> volumeUses();

 private:
  struct Record {
    store::ContainerRow row;
    nlohmann::ordered_json doc;  // inspect shape + "Berth"
  };
  absl::StatusOr<std::vector<Record>> all();
  // Full id, exact name, then a unique id prefix. NotFound "No such container: …".
  absl::StatusOr<Record> resolve(std::string_view name);
  absl::Status save(Record& r);
  void publish(std::string action, const Record& r, std::map<std::string, std::string> extra = {});
  nlohmann::ordered_json summary(const Record& r) const;

  // In-memory state of one container beside its record: who waits for
  // it, attach connections made before start, a pending stop.
  struct Live {
    std::mutex op;  // serializes start, stop and exit handling of this container
    std::vector<api::backend::WaitCallback> exitWaiters, removedWaiters;
    std::vector<UniqueFd> pendingAttach;
    std::vector<std::function<void()>> stopDone;
    uint64_t killTimer = 0;
    uint64_t restartTimer = 0;
    bool removing = false;  // under `op`: a removal is under way (dockerd's RemovalInProgress)
    std::atomic<bool> running{false};
    std::atomic<uint64_t> generation{0};  // bumped at every start and exit: stale probes stop
  };
  std::shared_ptr<Live> live(const std::string& id);
  // The image's snapshot directories under a container, top layer first.
  absl::StatusOr<std::vector<std::string>> lowerDirsOf(const Record& r);
  // The runtime spec of a container: its record plus its image's snapshots.
  absl::StatusOr<runtime::ContainerSpec> specFor(const Record& r);
  // A docker exec, in memory as in dockerd.
  struct Exec {
    std::string id, containerId;
    nlohmann::ordered_json config;  // the create request's ExecConfig
    bool started = false, running = false;
    std::optional<int> exitCode;
    int pid = 0;
  };
  absl::StatusOr<std::shared_ptr<Exec>> findExec(std::string_view id);
  void settleExec(Exec& e, const runtime::ExitStatus& status);  // under execMu_
  // Runs `fn` on the container's root filesystem (see Runtime::withRootfs),
  // holding its lifecycle lock so it cannot start meanwhile.
  absl::Status withRootfs(const Record& r, const std::function<absl::Status(int rootFd)>& fn);
  // docker cp into a container that is not on this machine (the kube
  // backend): the archive unpacked here first, with the unpacker's checks,
  // then copied in while it runs, or kept and copied at each start.
  absl::Status extractElsewhere(const Record& r, std::string_view name, std::string_view path, int tarFd,
                                const runtime::CopyOptions& options);
  std::vector<runtime::PendingCopy> copiesBeforeStart(const std::string& id) const;
  absl::StatusOr<bool> startLocked(Live& l, Record& r);
  // The network side of a start: the sandbox, recorded in the spec and the document.
  absl::Status setUpNetworking(Record& r, runtime::ContainerSpec& spec);
  // A container the runtime runs elsewhere: the /etc/hosts lines Docker's
  // networking would give it (--add-host, legacy links, and each running
  // container it shares a user network with, by name, short id and aliases).
  absl::Status remoteNetworking(Record& r, runtime::ContainerSpec& spec);
  // A container the runtime runs elsewhere, whose published ports it relays from here: bound now.
  absl::Status publishRemotePorts(Record& r);
  // HostConfig.Links on the default bridge: /etc/hosts lines and dockerd's link variables.
  absl::Status legacyLinks(const Record& r, std::vector<std::string>& hosts, std::vector<std::string>& env);
  void onExit(const std::string& id, runtime::ExitStatus status);
  void scheduleRestart(const std::string& id, int delayMs);
  // Healthchecks (container_health.cpp): sets State.Health to starting and
  // schedules the first probe; false when the container has none.
  bool startHealthcheck(Record& r, Live& l);
  void probe(const std::string& id, uint64_t generation);
  void runProbe(const std::string& id, uint64_t generation, Live& l);
  void waitForProbes();
  bool manuallyStopped(const Record& r) const;
  void setManuallyStopped(Record& r, bool stopped);

  store::StateStore& db_;
  // The Mounts entries of a new container from Binds, Mounts and the image's
  // VOLUMEs (anonymous volumes), creating named volumes as needed.
  absl::StatusOr<nlohmann::ordered_json> mountsFor(const nlohmann::json& host, const nlohmann::ordered_json& config);

  ImageService& images_;
  VolumeService& volumes_;
  NetworkService& networks_;
  EventBus& events_;
  const std::string graphDriver_;
  runtime::Runtime& runtime_;
  Scheduler& scheduler_;
  const SpecContext specContext_;
  std::mutex mu_;  // serializes name changes and removals
  std::mutex liveMu_;
  std::map<std::string, std::shared_ptr<Live>> live_;  // guarded by liveMu_
  std::atomic<bool> shuttingDown_{false};
  std::atomic<int> activeProbes_{0};
  std::mutex probesMu_;
  std::condition_variable probesIdle_;
  std::mutex execMu_;
  std::map<std::string, std::shared_ptr<Exec>> execs_;  // guarded by execMu_
};

}  // namespace berth::engine
