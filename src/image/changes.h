#pragma once
// The Dockerfile instructions `docker import --change` (and commit) accept,
// applied to an image config's "config" object: CMD, ENTRYPOINT, ENV,
// EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR. Exec form
// (JSON arrays) and shell form as the Dockerfile reference defines them.
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"

namespace berth::image {

// InvalidArgument "<instruction> is not a valid change command" for other
// instructions; InvalidArgument for malformed arguments.
absl::Status applyChange(std::string_view change, nlohmann::json& config);

}  // namespace berth::image
