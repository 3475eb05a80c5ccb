#pragma once
// Named volumes with the local driver: a directory <data-root>/volumes/<name>/_data
// per volume, records in the state database as Docker's Volume document.
// Anonymous volumes (created without a name) carry dockerd's
// com.docker.volume.anonymous label, which prune looks for. A runtime that
// keeps named volumes itself (the kube backend's PVCs) is asked first; such a
// volume has no directory here, and its handle is kept in the record.
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/backend/volume_backend.h"
#include "engine/event_bus.h"
#include "runtime/runtime.h"
#include "store/state_store.h"

namespace berth::engine {

inline constexpr std::string_view kAnonymousVolumeLabel = "com.docker.volume.anonymous";

// Which containers use which volumes (by name).
using VolumeUsesFn = std::function<absl::StatusOr<std::map<std::string, std::vector<std::string>>>()>;

class VolumeService final : public api::backend::VolumeBackend {
 public:
  VolumeService(store::StateStore& db, EventBus& events, std::string dataRoot);
  void setVolumeUses(VolumeUsesFn uses) { uses_ = std::move(uses); }
  void setRuntime(runtime::Runtime* runtime) { runtime_ = runtime; }

  absl::StatusOr<nlohmann::ordered_json> createVolume(const api::backend::VolumeCreateRequest& req) override;
  absl::StatusOr<std::vector<nlohmann::ordered_json>> listVolumes(const api::types::Filters& filters) override;
  absl::StatusOr<nlohmann::ordered_json> inspectVolume(std::string_view name) override;
  absl::Status removeVolume(std::string_view name, bool force) override;
  absl::StatusOr<api::backend::VolumePruneReport> pruneVolumes(const api::types::Filters& filters) override;

  // Volume documents with UsageData (Size, RefCount), for GET /system/df.
  absl::StatusOr<std::vector<nlohmann::ordered_json>> usage();

  // The runtime's handle of a stored volume; empty for a directory here (or no such volume).
  absl::StatusOr<std::string> volumeHandle(std::string_view name);
  // Removes every volume the runtime keeps, with its record (the kube
  // backend's shutdown: nothing of the daemon outlives it in the cluster).
  void forgetStored();
  // Removes the volumes the runtime keeps that were made longer ago than
  // `maxAge` and no container uses (--reapmax).
  void reapStoredOlderThan(std::chrono::seconds maxAge);

 private:
  absl::StatusOr<std::map<std::string, std::vector<std::string>>> uses();
  // Removes the runtime's copy, then the record, then the directory; returns the bytes freed.
  absl::StatusOr<int64_t> destroy(const store::VolumeRow& row);
  // Destroys the volumes the runtime keeps that `which` picks, logging why; call with mu_ held.
  void destroyStored(const std::function<bool(const store::VolumeRow&)>& which, std::string_view why);
  void publish(std::string action, const std::string& name, std::string driver);

  store::StateStore& db_;
  EventBus& events_;
  const std::string root_;  // <data-root>/volumes
  VolumeUsesFn uses_;
  runtime::Runtime* runtime_ = nullptr;
  std::mutex mu_;
};

// dockerd's rule for local volume names; InvalidArgument with its texts.
absl::Status validateVolumeName(std::string_view name);

}  // namespace berth::engine
