#pragma once
// --pod-template (kubedock's): a Pod in YAML whose settings every pod starts
// from. Its metadata's labels and annotations and its spec's fields
// (tolerations, affinity, securityContext, priorityClassName, …) lie under
// what Berth sets; its first container lies under every container of the
// pod (the process's, the helper's init container and sidecar): env,
// resources, securityContext and the like. Volumes, other containers and
// what makes a container itself (name, image, command, args, ports, mounts,
// working directory, terminal) are ignored. What Berth sets wins: flags and
// labels over the template.
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace berth::runtime::kube {

// The template file as JSON; InvalidArgument for unreadable YAML or
// something that is not a Pod.
absl::StatusOr<nlohmann::json> loadPodTemplate(const std::string& path);

// `pod` laid over `podTemplate` (null: `pod` as it is).
nlohmann::json applyPodTemplate(const nlohmann::json& podTemplate, nlohmann::json pod);

}  // namespace berth::runtime::kube
