#pragma once
// What the container routes need from the engine. Implemented by
// engine::ContainerService. Shapes are Docker's JSON documents (inspect,
// summaries), built by the engine; the routes pass them through.
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/types/filters.h"
#include "nlohmann/json.hpp"

namespace berth::api::backend {

struct ContainerCreateRequest {
  std::string name;      // may be empty: a name is generated
  std::string platform;  // may be empty
  nlohmann::json body;   // ContainerConfig with HostConfig and NetworkingConfig
};

struct ContainerCreated {
  std::string id;
  std::vector<std::string> warnings;
};

struct ContainerListOptions {
  bool all = false;
  int limit = -1;  // > 0: the newest N, stopped ones included
  bool size = false;
  types::Filters filters;
};

struct ContainerRemoveOptions {
  bool force = false;
  bool volumes = false;
  bool link = false;
};

struct ContainerPruneReport {
  std::vector<std::string> deleted;
  int64_t spaceReclaimed = 0;
};

class ContainerBackend {
 public:
  virtual ~ContainerBackend() = default;
  // NotFound "No such image: …" (the CLI then pulls and retries),
  // AlreadyExists (409) for a taken name, InvalidArgument for bad values.
  virtual absl::StatusOr<ContainerCreated> createContainer(const ContainerCreateRequest& req) = 0;
  // NotFound "No such container: …".
  virtual absl::StatusOr<nlohmann::ordered_json> inspectContainer(std::string_view name, bool size) = 0;
  virtual absl::StatusOr<std::vector<nlohmann::ordered_json>> listContainers(const ContainerListOptions& options) = 0;
  virtual absl::Status renameContainer(std::string_view name, std::string_view newName) = 0;
  virtual absl::Status removeContainer(std::string_view name, const ContainerRemoveOptions& options) = 0;
  virtual absl::StatusOr<ContainerPruneReport> pruneContainers(const types::Filters& filters) = 0;
};

}  // namespace berth::api::backend
