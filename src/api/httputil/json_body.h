#pragma once
// Decoding request bodies as JSON, with dockerd's error texts. No I/O here:
// the fuzz targets call it directly.
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace berth::api::httputil {

// Parses a request body as one JSON value: InvalidArgument "invalid JSON: …"
// for bad syntax and "unexpected content after JSON" for trailing data.
absl::StatusOr<nlohmann::json> parseJsonBody(std::string_view body);

// A body that parsed but has a field of the wrong type (`{"Image": 5}`)
// surfaces as nlohmann's type_error from deep in a handler; like dockerd's
// unmarshal errors it is the client's fault: InvalidArgument "invalid JSON: …".
absl::Status wrongTypeError(const nlohmann::json::exception& e);

}  // namespace berth::api::httputil
