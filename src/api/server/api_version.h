#pragma once
// API versioning as dockerd does it: an optional "/vX.Y" path prefix, the
// default (and maximum) version when absent, and 400 outside [min, max].
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace berth::api::server {

inline constexpr std::string_view kApiVersion = "1.51";
inline constexpr std::string_view kMinApiVersion = "1.24";

struct VersionedPath {
  std::string_view version;  // empty when the path has no prefix
  std::string_view path;     // the rest, starting with '/'
};

// "/v1.51/containers/json" → {"1.51", "/containers/json"}. Only "/v" followed
// by digits and dots and then "/" (or the end) is a prefix, as dockerd's
// `/v{version:[0-9.]+}` route matcher.
VersionedPath splitVersionPrefix(std::string_view path);

// InvalidArgument with dockerd's text when `version` is outside the range.
absl::Status checkApiVersion(std::string_view version);

}  // namespace berth::api::server
