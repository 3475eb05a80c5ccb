#pragma once
// JSON in and out of handlers, with dockerd's checks and texts.
#include <string>
#include <string_view>

#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without including it
#include <boost/asio/awaitable.hpp>

#include "absl/status/statusor.h"
#include "api/httputil/exchange.h"
#include "api/httputil/json_body.h"
#include "nlohmann/json.hpp"

namespace berth::api::httputil {

// Bodies decoded into memory are capped; archives and image loads stream instead.
inline constexpr size_t kMaxJsonBody = 16 * 1024 * 1024;

// dockerd's CheckForJSON: a body needs Content-Type application/json
// (parameters allowed). InvalidArgument "unsupported Content-Type header (…)".
absl::Status checkJsonContentType(const Request& request);

// Reads, checks and parses the body; an absent body yields a null value.
net::awaitable<absl::StatusOr<nlohmann::json>> readJsonBody(Exchange& ex);

// Serializes as Go's json.Encoder does: compact, with a trailing newline.
// Invalid UTF-8 is replaced rather than thrown on.
template <class Json>
std::string jsonLine(const Json& j) {
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  s.push_back('\n');
  return s;
}

// A response without a body (204 No Content, 201 for tag).
inline Response emptyResponse(int status) {
  Response r;
  r.status = status;
  r.contentType = "";
  return r;
}

template <class Json>
Response jsonResponse(int status, const Json& j) {
  Response r;
  r.status = status;
  r.body = jsonLine(j);
  return r;
}

}  // namespace berth::api::httputil
