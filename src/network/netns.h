#pragma once
// Named network namespaces, as `ip netns` keeps them: a file that a
// namespace is bind-mounted on, so it outlives the processes in it (and the
// daemon), can be configured before the container starts, and can be joined
// by `--network container:<id>` and hot-plugged by `network connect`.
#include <string>

#include "absl/status/statusor.h"
#include "util/unique_fd.h"

namespace berth::network {

// A new, empty network namespace pinned at `path` (created); an existing one is kept.
absl::Status createNetns(const std::string& path);
absl::StatusOr<UniqueFd> openNetns(const std::string& path);
// Unpins and deletes it; its interfaces go when the last process in it exits.
absl::Status removeNetns(const std::string& path);

}  // namespace berth::network
