#include "api/routes/containers/container_routes.h"

#include "api/httputil/json_io.h"
#include "api/routes/containers/container_stream_routes.h"
#include "api/httputil/offload.h"
#include "api/types/body_schema.h"
#include "util/strings.h"

namespace berth::api::routes {
namespace {

namespace net = boost::asio;
using httputil::Exchange;

net::awaitable<absl::Status> create(Exchange& ex, backend::ContainerBackend& backend) {
  auto body = co_await httputil::readJsonBody(ex);
  if (!body.ok()) co_return body.status();
  if (!body->is_object()) co_return absl::InvalidArgumentError("config cannot be empty in order to create a container");
  if (auto st = types::checkBodyTypes(*body, types::kContainerCreateBody); !st.ok()) co_return st;
  backend::ContainerCreateRequest req;
  req.name = std::string(ex.request().query.getOr("name", ""));
  req.platform = std::string(ex.request().query.getOr("platform", ""));
  req.body = std::move(*body);
  auto created = co_await httputil::offload(ex, [&] { return backend.createContainer(req); });
  if (!created.ok()) co_return created.status();
  nlohmann::ordered_json j;
  j["Id"] = created->id;
  j["Warnings"] = created->warnings;
  co_return co_await ex.respond(httputil::jsonResponse(201, j));
}

net::awaitable<absl::Status> list(Exchange& ex, backend::ContainerBackend& backend) {
  const httputil::Query& q = ex.request().query;
  backend::ContainerListOptions options;
  options.all = q.boolValue("all");
  options.size = q.boolValue("size");
  auto limit = q.intValue("limit");
  if (!limit.ok()) co_return limit.status();
  if (*limit) options.limit = int(**limit);
  auto filters = types::parseFilters(q.getOr("filters", ""));
  if (!filters.ok()) co_return filters.status();
  options.filters = std::move(*filters);
  auto items = co_await httputil::offload(ex, [&] { return backend.listContainers(options); });
  if (!items.ok()) co_return items.status();
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (auto& item : *items) a.push_back(std::move(item));
  co_return co_await ex.respond(httputil::jsonResponse(200, a));
}

net::awaitable<absl::Status> inspect(Exchange& ex, backend::ContainerBackend& backend) {
  std::string id = ex.request().pathParams.at("id");
  bool size = ex.request().query.boolValue("size");
  auto doc = co_await httputil::offload(ex, [&] { return backend.inspectContainer(id, size); });
  if (!doc.ok()) co_return doc.status();
  co_return co_await ex.respond(httputil::jsonResponse(200, *doc));
}

net::awaitable<absl::Status> rename(Exchange& ex, backend::ContainerBackend& backend) {
  std::string id = ex.request().pathParams.at("id");
  std::string name(ex.request().query.getOr("name", ""));
  absl::Status st = co_await httputil::offload(ex, [&] { return backend.renameContainer(id, name); });
  if (!st.ok()) co_return st;
  co_return co_await ex.respond(httputil::emptyResponse(204));
}

net::awaitable<absl::Status> remove(Exchange& ex, backend::ContainerBackend& backend) {
  std::string id = ex.request().pathParams.at("id");
  const httputil::Query& q = ex.request().query;
  backend::ContainerRemoveOptions options{q.boolValue("force"), q.boolValue("v"), q.boolValue("link")};
  absl::Status st = co_await httputil::offload(ex, [&] { return backend.removeContainer(id, options); });
  if (!st.ok()) co_return st;
  co_return co_await ex.respond(httputil::emptyResponse(204));
}

net::awaitable<absl::Status> prune(Exchange& ex, backend::ContainerBackend& backend) {
  auto filters = types::parseFilters(ex.request().query.getOr("filters", ""));
  if (!filters.ok()) co_return filters.status();
  auto report = co_await httputil::offload(ex, [&] { return backend.pruneContainers(*filters); });
  if (!report.ok()) co_return report.status();
  nlohmann::ordered_json j;
  j["ContainersDeleted"] = report->deleted.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(report->deleted);
  j["SpaceReclaimed"] = report->spaceReclaimed;
  co_return co_await ex.respond(httputil::jsonResponse(200, j));
}

net::awaitable<absl::Status> start(Exchange& ex, backend::ContainerBackend& backend) {
  std::string id = ex.request().pathParams.at("id");
  auto started = co_await httputil::offload(ex, [&] { return backend.startContainer(id); });
  if (!started.ok()) co_return started.status();
  co_return co_await ex.respond(httputil::emptyResponse(*started ? 204 : 304));
}

net::awaitable<absl::Status> kill(Exchange& ex, backend::ContainerBackend& backend) {
  std::string id = ex.request().pathParams.at("id");
  std::string signal(ex.request().query.getOr("signal", "SIGKILL"));
  absl::Status st = co_await httputil::offload(ex, [&] { return backend.killContainer(id, signal); });
  if (!st.ok()) co_return st;
  co_return co_await ex.respond(httputil::emptyResponse(204));
}

net::awaitable<absl::Status> pauseOrUnpause(Exchange& ex, backend::ContainerBackend& backend, bool paused) {
  std::string id = ex.request().pathParams.at("id");
  absl::Status st = co_await httputil::offload(ex, [&] { return backend.pauseContainer(id, paused); });
  if (!st.ok()) co_return st;
  co_return co_await ex.respond(httputil::emptyResponse(204));
}
net::awaitable<absl::Status> pause(Exchange& ex, backend::ContainerBackend& backend) {
  return pauseOrUnpause(ex, backend, true);
}
net::awaitable<absl::Status> unpause(Exchange& ex, backend::ContainerBackend& backend) {
  return pauseOrUnpause(ex, backend, false);
}

net::awaitable<absl::Status> resize(Exchange& ex, backend::ContainerBackend& backend) {
  std::string id = ex.request().pathParams.at("id");
  auto size = terminalSize(ex.request().query);
  if (!size.ok()) co_return size.status();
  absl::Status st =
      co_await httputil::offload(ex, [&] { return backend.resizeContainer(id, size->first, size->second); });
  if (!st.ok()) co_return st;
  co_return co_await ex.respond(httputil::jsonResponse(200, nlohmann::ordered_json::object()));
}

net::awaitable<absl::Status> top(Exchange& ex, backend::ContainerBackend& backend) {
  std::string id = ex.request().pathParams.at("id");
  std::string args(ex.request().query.getOr("ps_args", ""));
  auto t = co_await httputil::offload(ex, [&] { return backend.topContainer(id, args); });
  if (!t.ok()) co_return t.status();
  nlohmann::ordered_json j;
  j["Titles"] = t->titles;
  j["Processes"] = t->processes;
  co_return co_await ex.respond(httputil::jsonResponse(200, j));
}

net::awaitable<absl::Status> update(Exchange& ex, backend::ContainerBackend& backend) {
  auto body = co_await httputil::readJsonBody(ex);
  if (!body.ok()) co_return body.status();
  if (auto st = types::checkBodyTypes(*body, types::kContainerUpdateBody); !st.ok()) co_return st;
  std::string id = ex.request().pathParams.at("id");
  auto warnings = co_await httputil::offload(ex, [&] { return backend.updateContainer(id, *body); });
  if (!warnings.ok()) co_return warnings.status();
  nlohmann::ordered_json j;
  j["Warnings"] = *warnings;
  co_return co_await ex.respond(httputil::jsonResponse(200, j));
}

net::awaitable<absl::Status> changes(Exchange& ex, backend::ContainerBackend& backend) {
  std::string id = ex.request().pathParams.at("id");
  auto list = co_await httputil::offload(ex, [&] { return backend.containerChanges(id); });
  if (!list.ok()) co_return list.status();
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const auto& c : *list) {
    nlohmann::ordered_json e;
    e["Path"] = c.path;
    e["Kind"] = c.kind;
    a.push_back(std::move(e));
  }
  co_return co_await ex.respond(httputil::jsonResponse(200, a));
}

}  // namespace

std::vector<httputil::RouteSpec> containerRoutes(backend::ContainerBackend& backend) {
  auto bind = [&backend](net::awaitable<absl::Status> (*fn)(Exchange&, backend::ContainerBackend&)) {
    return [&backend, fn](Exchange& ex) { return fn(ex, backend); };
  };
  std::vector<httputil::RouteSpec> routes = {
      {"POST", "/containers/create", bind(create)},
      {"GET", "/containers/json", bind(list)},
      {"POST", "/containers/prune", bind(prune)},
      {"GET", "/containers/{id}/json", bind(inspect)},
      {"POST", "/containers/{id}/rename", bind(rename)},
      {"DELETE", "/containers/{id}", bind(remove)},
      {"POST", "/containers/{id}/start", bind(start)},
      {"POST", "/containers/{id}/kill", bind(kill)},
      {"POST", "/containers/{id}/pause", bind(pause)},
      {"POST", "/containers/{id}/unpause", bind(unpause)},
      {"POST", "/containers/{id}/resize", bind(resize)},
      {"GET", "/containers/{id}/top", bind(top)},
      {"POST", "/containers/{id}/update", bind(update)},
      {"GET", "/containers/{id}/changes", bind(changes)},
  };
  for (auto& r : containerStreamRoutes(backend)) routes.push_back(std::move(r));
  return routes;
}

}  // namespace berth::api::routes
