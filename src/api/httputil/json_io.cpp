#include "api/httputil/json_io.h"

#include "util/strings.h"
#include "util/strings.h"

namespace berth::api::httputil {

absl::Status checkJsonContentType(const Request& request) {
  std::string_view ct = request.header("Content-Type");
  if (ct.empty() && !request.hasBody) return absl::OkStatus();
  std::string_view media = ct.substr(0, ct.find(';'));
  if (toLower(trim(media)) != "application/json") {
    return absl::InvalidArgumentError(
        strCat("unsupported Content-Type header (", ct, "): must be 'application/json'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> parseJsonBody(std::string_view body) {
  if (trim(body).empty()) {
    return absl::InvalidArgumentError("invalid JSON: got EOF while reading request body");
  }
  try {
    return nlohmann::json::parse(body.begin(), body.end());
  } catch (const nlohmann::json::parse_error& e) {
    std::string_view what = e.what();
    // nlohmann reports trailing data as "… expected end of input".
    if (what.find("expected end of input") != std::string_view::npos) {
      return absl::InvalidArgumentError("unexpected content after JSON");
    }
    // Drop the library's "[json.exception.parse_error.101] " tag.
    if (auto close = what.find("] "); what.starts_with("[json.exception") && close != std::string_view::npos) {
      what.remove_prefix(close + 2);
    }
    return absl::InvalidArgumentError(strCat("invalid JSON: ", what));
  }
}

net::awaitable<absl::StatusOr<nlohmann::json>> readJsonBody(Exchange& ex) {
  absl::Status ct = checkJsonContentType(ex.request());
  if (!ct.ok()) co_return ct;
  if (!ex.request().hasBody) co_return nlohmann::json();
  absl::StatusOr<std::string> body = co_await ex.readBody(kMaxJsonBody);
  if (!body.ok()) co_return body.status();
  co_return parseJsonBody(*body);
}

}  // namespace berth::api::httputil
