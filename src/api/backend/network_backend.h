#pragma once
// What the network routes need from the engine. Implemented by
// engine::NetworkService; networks are Docker's network inspect documents.
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/types/filters.h"
#include "nlohmann/json.hpp"

namespace berth::api::backend {

struct NetworkCreated {
  std::string id;
  std::string warning;
};

class NetworkBackend {
 public:
  virtual ~NetworkBackend() = default;
  // body: Docker's NetworkCreateRequest. AlreadyExists (409) for a taken
  // name, PermissionDenied (403) for an overlapping subnet.
  virtual absl::StatusOr<NetworkCreated> createNetwork(const nlohmann::json& body) = 0;
  virtual absl::StatusOr<std::vector<nlohmann::ordered_json>> listNetworks(const types::Filters& filters) = 0;
  // By full ID, name or unique ID prefix; NotFound "network <x> not found".
  virtual absl::StatusOr<nlohmann::ordered_json> inspectNetwork(std::string_view idOrName) = 0;
  // PermissionDenied for the predefined ones, FailedPrecondition (409) while in use.
  virtual absl::Status removeNetwork(std::string_view idOrName) = 0;
  // The names of the removed networks.
  virtual absl::StatusOr<std::vector<std::string>> pruneNetworks(const types::Filters& filters) = 0;
  // endpointConfig: Docker's EndpointSettings (Aliases, IPAMConfig, …).
  virtual absl::Status connectNetwork(std::string_view network, std::string_view container,
                                      const nlohmann::json& endpointConfig) = 0;
  virtual absl::Status disconnectNetwork(std::string_view network, std::string_view container, bool force) = 0;
};

}  // namespace berth::api::backend
