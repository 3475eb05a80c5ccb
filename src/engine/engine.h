#pragma once
// The engine: Docker semantics over the store (and, as they land, images,
// runtimes and networks). Implements the api/backend interfaces; knows
// nothing about HTTP.
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/backend/system_backend.h"
#include "engine/event_bus.h"
#include "engine/container_service.h"
#include "engine/image_service.h"
#include "engine/network_service.h"
#include "engine/scheduler.h"
#include "runtime/kube/kube_runtime.h"
#include "runtime/runtime.h"
#include "engine/volume_service.h"
#include "store/state_store.h"
#include "util/host_info.h"

namespace berth::engine {

struct EngineOptions {
  std::string dataRoot;
  std::string version;    // berth's semver
  std::string gitCommit;
  std::string buildTime;  // RFC 3339
  std::string compiler;
  std::vector<std::string> labels;
  bool debug = false;
  std::vector<std::string> warnings;  // shown by `docker info` (e.g. plain TCP)
  std::vector<std::string> insecureRegistries;
  int maxConcurrentDownloads = 3;
  bool rootless = false;
  std::string hostGatewayIp;  // what host-gateway stands for; empty: the default bridge's gateway
  int64_t maxLayerBytes = int64_t(64) << 30;
  // Set: containers run as pods on a cluster (runtime/kube); unset: on this machine.
  std::optional<runtime::kube::KubeBackendOptions> kube;
};

// Settings that SIGHUP may change.
struct ReloadableSettings {
  std::vector<std::string> labels;
  bool debug = false;
  std::string logLevel;
};

class Engine final : public api::backend::SystemBackend {
 public:
  // Reads or creates the daemon's ID in the store. `store` must outlive the engine.
  static absl::StatusOr<std::unique_ptr<Engine>> create(EngineOptions options, store::StateStore& store);
  ~Engine() override;

  const std::string& id() const { return id_; }
  ImageService& images() { return *images_; }
  ContainerService& containers() { return *containers_; }
  VolumeService& volumes() { return *volumes_; }
  NetworkService& networks() { return *networks_; }
  EventBus& events() { return events_; }

  // Applies reloaded settings and emits a daemon "reload" event.
  void reload(const ReloadableSettings& settings);

  // SystemBackend
  api::types::SystemVersion version() override;
  absl::StatusOr<api::types::SystemInfo> info() override;
  absl::StatusOr<api::types::DiskUsage> diskUsage(const api::backend::DiskUsageQuery& query) override;
  absl::StatusOr<api::backend::EventStream> events(const api::backend::EventQuery& query,
                                                   api::backend::EventSink sink) override;

 private:
  Engine(EngineOptions options, store::StateStore& store, std::string id);
  // The cluster's runtime, with the helper image published.
  absl::StatusOr<std::unique_ptr<runtime::Runtime>> kubeRuntime(const std::string& helperBinary);

  EngineOptions options_;  // labels and debug guarded by mu_
  store::StateStore& store_;
  const std::string id_;
  const HostInfo host_;  // read once: none of it changes while running
  EventBus events_;
  // Declared in this order so images_ (whose jobs may still run and ask
  // containers_ what they use) goes first, and both before the bus.
  std::unique_ptr<VolumeService> volumes_;
  std::unique_ptr<NetworkService> networks_;
  std::unique_ptr<ContainerService> containers_;
  std::unique_ptr<ImageService> images_;
  // Last, so they stop first: their threads call into the services above.
  std::unique_ptr<runtime::Runtime> runtime_;
  std::unique_ptr<Scheduler> scheduler_;
  std::mutex mu_;
};

}  // namespace berth::engine
