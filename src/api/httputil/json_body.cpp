#include "api/httputil/json_body.h"

#include "util/strings.h"

namespace berth::api::httputil {

absl::StatusOr<nlohmann::json> parseJsonBody(std::string_view body) {
  if (trim(body).empty()) {
    return absl::InvalidArgumentError("invalid JSON: got EOF while reading request body");
  }
  try {
    return nlohmann::json::parse(body.begin(), body.end());
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for huge numbers
    std::string_view what = e.what();
    // nlohmann reports trailing data as "… expected end of input".
    if (what.find("expected end of input") != std::string_view::npos) {
      return absl::InvalidArgumentError("unexpected content after JSON");
    }
    return wrongTypeError(e);
  }
}

absl::Status wrongTypeError(const nlohmann::json::exception& e) {
  std::string_view what = e.what();
  // Drop the library's "[json.exception.parse_error.101] " tag.
  if (auto close = what.find("] "); what.starts_with("[json.exception") && close != std::string_view::npos) {
    what.remove_prefix(close + 2);
  }
  return absl::InvalidArgumentError(strCat("invalid JSON: ", what));
}

}  // namespace berth::api::httputil
