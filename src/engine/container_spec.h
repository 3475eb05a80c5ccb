#pragma once
// From a container's record (Docker's inspect document) to the runtime's
// ContainerSpec: everything dockerd decides at start — capabilities,
// security options, resources, mounts, namespaces — decided here, once, in
// a pure function the unit tests can drive.
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "runtime/spec.h"

namespace berth::engine {

struct SpecContext {
  std::vector<std::string> lowerDirs;  // the image's snapshots, top layer first
  bool rootless = false;
  std::string containersDir;  // where the runtime keeps each container's files (for the *Path fields)
};

absl::StatusOr<runtime::ContainerSpec> buildContainerSpec(const nlohmann::ordered_json& doc, const SpecContext& ctx);

// "SIGTERM", "TERM", "15", "sigkill" → the number; InvalidArgument
// "Invalid signal: X" as dockerd.
absl::StatusOr<int> parseSignal(std::string_view name);

// "10m", "1g", "512k", "100" → bytes (docker's RAMInBytes); -1 when invalid.
int64_t parseByteSize(std::string_view s);

// dockerd's variables for a legacy link to a container at `ip`: <ALIAS>_PORT
// (its first port, TCP first), _PORT_<n>_<PROTO>[_ADDR|_PORT|_PROTO] for each
// exposed port, _START/_END/_PORT_START/_PORT_END for each run of consecutive
// ports, <ALIAS>_NAME=`linkName`, and _ENV_<var> for the target's Env.
std::vector<std::string> linkVariables(std::string_view alias, std::string_view linkName, std::string_view ip,
                                       const nlohmann::ordered_json& exposedPorts, const nlohmann::ordered_json& env);

}  // namespace berth::engine
