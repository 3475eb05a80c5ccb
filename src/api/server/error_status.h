#pragma once
// The one place where an error kind becomes an HTTP status (moby's
// httpstatus.FromError). Layers below the API return absl::Status codes only;
// add a mapping here rather than checking error types anywhere else.
#include <string>

#include "absl/status/status.h"

namespace berth::api::server {

int httpStatusFor(const absl::Status& status);

// dockerd's error body: {"message":"…"} and a newline.
std::string errorBody(const absl::Status& status);

}  // namespace berth::api::server
