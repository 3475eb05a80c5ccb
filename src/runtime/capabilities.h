#pragma once
// Linux capabilities by Docker's names, and dockerd's default set.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::runtime {

// The 14 capabilities dockerd gives a container by default.
const std::vector<std::string>& defaultCapabilities();
// Every capability this build knows, "CAP_CHOWN" … "CAP_CHECKPOINT_RESTORE".
const std::vector<std::string>& allCapabilities();

// "CHOWN", "cap_chown" and "CAP_CHOWN" all name CAP_CHOWN; nullopt if unknown.
std::optional<int> capabilityNumber(std::string_view name);

// dockerd's merge: the defaults (or all, for privileged), plus --cap-add,
// minus --cap-drop, where "ALL" in either means every capability.
// InvalidArgument "unknown capability: \"CAP_X\"" as dockerd.
absl::StatusOr<std::vector<std::string>> mergeCapabilities(const std::vector<std::string>& add,
                                                           const std::vector<std::string>& drop, bool privileged);

}  // namespace berth::runtime
