#include "api/routes/unsupported/unimplemented_routes.h"

#include "util/strings.h"
#include "api/httputil/json_io.h"

namespace berth::api::routes {
namespace {

namespace net = boost::asio;

struct Endpoint {
  const char* method;
  const char* pattern;
  bool jsonBody;
};

// Every API 1.51 endpoint not served yet. Remove an entry when its area lands.
constexpr Endpoint kUnimplemented[] = {
    {"POST", "/build", false},
    {"POST", "/build/prune", false},
    {"GET", "/images/search", false},
    {"POST", "/commit", true},
    {"PUT", "/volumes/{name}", true},
    {"GET", "/plugins", false},
    {"GET", "/plugins/privileges", false},
    {"POST", "/plugins/pull", true},
    {"GET", "/plugins/{name:.*}/json", false},
    {"DELETE", "/plugins/{name:.*}", false},
    {"POST", "/plugins/{name:.*}/enable", false},
    {"POST", "/plugins/{name:.*}/disable", false},
    {"POST", "/plugins/{name:.*}/upgrade", true},
    {"POST", "/plugins/create", false},
    {"POST", "/plugins/{name:.*}/push", false},
    {"POST", "/plugins/{name:.*}/set", true},
    {"POST", "/session", false},
};

}  // namespace

std::vector<httputil::RouteSpec> unimplementedRoutes() {
  std::vector<httputil::RouteSpec> out;
  for (const Endpoint& e : kUnimplemented) {
    std::string name = strCat(e.method, " ", e.pattern);
    // Show "{name}" rather than the matcher syntax in the message.
    if (auto pos = name.find("{name:.*}"); pos != std::string::npos) name.replace(pos, 9, "{name}");
    bool json = e.jsonBody;
    out.push_back({e.method, e.pattern, [name, json](httputil::Exchange& ex) -> net::awaitable<absl::Status> {
                     if (json) {
                       auto body = co_await httputil::readJsonBody(ex);
                       if (!body.ok()) co_return body.status();
                     }
                     co_return absl::UnimplementedError(
                         strCat(name, " is not implemented in Berth yet (see docs/api-coverage.md)"));
                   }});
  }
  return out;
}

}  // namespace berth::api::routes
