#pragma once
// The container area of the engine: create (dockerd's merge of the image
// config, name rules and conflicts, HostConfig defaults and validation),
// inspect, list with every filter, rename, remove, prune. Records live in
// the state database as Docker's inspect document plus a private "Berth"
// section. Running containers arrive with the local runtime (issue #4).
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/backend/container_backend.h"
#include "engine/event_bus.h"
#include "engine/image_service.h"
#include "engine/volume_service.h"
#include "store/state_store.h"

namespace berth::engine {

class ContainerService final : public api::backend::ContainerBackend {
 public:
  ContainerService(store::StateStore& db, ImageService& images, VolumeService& volumes, EventBus& events,
                   std::string graphDriver);

  absl::StatusOr<api::backend::ContainerCreated> createContainer(const api::backend::ContainerCreateRequest& req) override;
  absl::StatusOr<nlohmann::ordered_json> inspectContainer(std::string_view name, bool size) override;
  absl::StatusOr<std::vector<nlohmann::ordered_json>> listContainers(
      const api::backend::ContainerListOptions& options) override;
  absl::Status renameContainer(std::string_view name, std::string_view newName) override;
  absl::Status removeContainer(std::string_view name, const api::backend::ContainerRemoveOptions& options) override;
  absl::StatusOr<api::backend::ContainerPruneReport> pruneContainers(const api::types::Filters& filters) override;

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

  store::StateStore& db_;
  // The Mounts entries of a new container from Binds, Mounts and the image's
  // VOLUMEs (anonymous volumes), creating named volumes as needed.
  absl::StatusOr<nlohmann::ordered_json> mountsFor(const nlohmann::json& host, const nlohmann::ordered_json& config);

  ImageService& images_;
  VolumeService& volumes_;
  EventBus& events_;
  const std::string graphDriver_;
  std::mutex mu_;  // serializes name changes and removals
};

}  // namespace berth::engine
