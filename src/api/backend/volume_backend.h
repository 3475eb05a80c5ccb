#pragma once
// What the volume routes need from the engine. Implemented by
// engine::VolumeService; volumes are Docker's Volume JSON documents.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/types/filters.h"
#include "nlohmann/json.hpp"

namespace berth::api::backend {

struct VolumeCreateRequest {
  std::string name;  // empty: a random name (an anonymous volume)
  std::string driver;
  std::map<std::string, std::string> driverOpts;
  std::map<std::string, std::string> labels;
};

struct VolumePruneReport {
  std::vector<std::string> deleted;
  int64_t spaceReclaimed = 0;
};

class VolumeBackend {
 public:
  virtual ~VolumeBackend() = default;
  // Creating a name that exists returns the existing volume, as dockerd.
  virtual absl::StatusOr<nlohmann::ordered_json> createVolume(const VolumeCreateRequest& req) = 0;
  virtual absl::StatusOr<std::vector<nlohmann::ordered_json>> listVolumes(const types::Filters& filters) = 0;
  // NotFound "get <name>: no such volume".
  virtual absl::StatusOr<nlohmann::ordered_json> inspectVolume(std::string_view name) = 0;
  // FailedPrecondition (409) while a container uses it.
  virtual absl::Status removeVolume(std::string_view name, bool force) = 0;
  virtual absl::StatusOr<VolumePruneReport> pruneVolumes(const types::Filters& filters) = 0;
};

}  // namespace berth::api::backend
