#include "api/routes/networks/network_routes.h"

#include "api/httputil/json_io.h"
#include "api/httputil/offload.h"
#include "api/types/body_schema.h"
#include "util/strings.h"

namespace berth::api::routes {
namespace {

namespace net = boost::asio;
using httputil::Exchange;

net::awaitable<absl::StatusOr<nlohmann::json>> objectBody(Exchange& ex, const char* what,
                                                          const types::BodySchema& schema) {
  auto body = co_await httputil::readJsonBody(ex);
  if (!body.ok()) co_return body.status();
  nlohmann::json b = body->is_null() ? nlohmann::json::object() : *body;
  if (!b.is_object()) co_return absl::InvalidArgumentError(strCat(what, " body must be an object"));
  if (auto st = types::checkBodyTypes(b, schema); !st.ok()) co_return st;
  co_return b;
}

net::awaitable<absl::Status> create(Exchange& ex, backend::NetworkBackend& backend) {
  auto body = co_await objectBody(ex, "network create", types::kNetworkCreateBody);
  if (!body.ok()) co_return body.status();
  auto created = co_await httputil::offload(ex, [&] { return backend.createNetwork(*body); });
  if (!created.ok()) co_return created.status();
  nlohmann::ordered_json j;
  j["Id"] = created->id;
  j["Warning"] = created->warning;
  co_return co_await ex.respond(httputil::jsonResponse(201, j));
}

net::awaitable<absl::Status> list(Exchange& ex, backend::NetworkBackend& backend) {
  auto filters = types::parseFilters(ex.request().query.getOr("filters", ""));
  if (!filters.ok()) co_return filters.status();
  auto nets = co_await httputil::offload(ex, [&] { return backend.listNetworks(*filters); });
  if (!nets.ok()) co_return nets.status();
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (auto& n : *nets) j.push_back(std::move(n));
  co_return co_await ex.respond(httputil::jsonResponse(200, j));
}

net::awaitable<absl::Status> inspect(Exchange& ex, backend::NetworkBackend& backend) {
  std::string id = ex.request().pathParams.at("id");
  auto n = co_await httputil::offload(ex, [&] { return backend.inspectNetwork(id); });
  if (!n.ok()) co_return n.status();
  co_return co_await ex.respond(httputil::jsonResponse(200, *n));
}

net::awaitable<absl::Status> remove(Exchange& ex, backend::NetworkBackend& backend) {
  std::string id = ex.request().pathParams.at("id");
  absl::Status st = co_await httputil::offload(ex, [&] { return backend.removeNetwork(id); });
  if (!st.ok()) co_return st;
  co_return co_await ex.respond(httputil::emptyResponse(204));
}

// The body of connect and disconnect, which both name a container.
net::awaitable<absl::StatusOr<nlohmann::json>> containerBody(Exchange& ex, const char* what,
                                                             const types::BodySchema& schema) {
  auto body = co_await objectBody(ex, what, schema);
  if (!body.ok()) co_return body.status();
  auto c = body->find("Container");
  if (c == body->end() || !c->is_string() || c->get<std::string>().empty()) {
    co_return absl::InvalidArgumentError("a container name or ID is required");
  }
  co_return body;
}

net::awaitable<absl::Status> connect(Exchange& ex, backend::NetworkBackend& backend) {
  std::string id = ex.request().pathParams.at("id");
  auto body = co_await containerBody(ex, "network connect", types::kNetworkConnectBody);
  if (!body.ok()) co_return body.status();
  std::string container = (*body)["Container"];
  nlohmann::json endpoint = body->contains("EndpointConfig") && (*body)["EndpointConfig"].is_object()
                                ? (*body)["EndpointConfig"]
                                : nlohmann::json::object();
  absl::Status st = co_await httputil::offload(ex, [&] { return backend.connectNetwork(id, container, endpoint); });
  if (!st.ok()) co_return st;
  co_return co_await ex.respond(httputil::emptyResponse(200));
}

net::awaitable<absl::Status> disconnect(Exchange& ex, backend::NetworkBackend& backend) {
  std::string id = ex.request().pathParams.at("id");
  auto body = co_await containerBody(ex, "network disconnect", types::kNetworkDisconnectBody);
  if (!body.ok()) co_return body.status();
  std::string container = (*body)["Container"];
  bool force = body->contains("Force") && (*body)["Force"].is_boolean() && (*body)["Force"].get<bool>();
  absl::Status st = co_await httputil::offload(ex, [&] { return backend.disconnectNetwork(id, container, force); });
  if (!st.ok()) co_return st;
  co_return co_await ex.respond(httputil::emptyResponse(200));
}

net::awaitable<absl::Status> prune(Exchange& ex, backend::NetworkBackend& backend) {
  auto filters = types::parseFilters(ex.request().query.getOr("filters", ""));
  if (!filters.ok()) co_return filters.status();
  auto removed = co_await httputil::offload(ex, [&] { return backend.pruneNetworks(*filters); });
  if (!removed.ok()) co_return removed.status();
  nlohmann::ordered_json j;
  j["NetworksDeleted"] = removed->empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(*removed);
  co_return co_await ex.respond(httputil::jsonResponse(200, j));
}

}  // namespace

std::vector<httputil::RouteSpec> networkRoutes(backend::NetworkBackend& backend) {
  auto bind = [&backend](net::awaitable<absl::Status> (*fn)(Exchange&, backend::NetworkBackend&)) {
    return [&backend, fn](Exchange& ex) { return fn(ex, backend); };
  };
  return {
      {"GET", "/networks", bind(list)},
      {"POST", "/networks/create", bind(create)},
      {"POST", "/networks/prune", bind(prune)},
      {"GET", "/networks/{id}", bind(inspect)},
      {"DELETE", "/networks/{id}", bind(remove)},
      {"POST", "/networks/{id}/connect", bind(connect)},
      {"POST", "/networks/{id}/disconnect", bind(disconnect)},
  };
}

}  // namespace berth::api::routes
