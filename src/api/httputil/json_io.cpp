#include "api/httputil/json_io.h"

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

net::awaitable<absl::StatusOr<nlohmann::json>> readJsonBody(Exchange& ex) {
  absl::Status ct = checkJsonContentType(ex.request());
  if (!ct.ok()) co_return ct;
  if (!ex.request().hasBody) co_return nlohmann::json();
  absl::StatusOr<std::string> body = co_await ex.readBody(kMaxJsonBody);
  if (!body.ok()) co_return body.status();
  co_return parseJsonBody(*body);
}

}  // namespace berth::api::httputil
