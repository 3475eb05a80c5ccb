#include "api/routes/volumes/volume_routes.h"

#include "api/httputil/json_io.h"
#include "api/httputil/offload.h"
#include "api/types/body_schema.h"
#include "api/types/filters.h"
#include "util/strings.h"

namespace berth::api::routes {
namespace {

namespace net = boost::asio;
using httputil::Exchange;

net::awaitable<absl::Status> create(Exchange& ex, backend::VolumeBackend& backend) {
  auto body = co_await httputil::readJsonBody(ex);
  if (!body.ok()) co_return body.status();
  nlohmann::json b = body->is_null() ? nlohmann::json::object() : *body;
  if (!b.is_object()) co_return absl::InvalidArgumentError("volume create body must be an object");
  if (auto st = types::checkBodyTypes(b, types::kVolumeCreateBody); !st.ok()) co_return st;
  backend::VolumeCreateRequest req;
  req.name = b.value("Name", "");
  req.driver = b.value("Driver", "");
  // Types were checked above: these are objects of strings, or absent.
  req.driverOpts = types::stringMap(b.value("DriverOpts", nlohmann::json()));
  req.labels = types::stringMap(b.value("Labels", nlohmann::json()));
  auto v = co_await httputil::offload(ex, [&] { return backend.createVolume(req); });
  if (!v.ok()) co_return v.status();
  co_return co_await ex.respond(httputil::jsonResponse(201, *v));
}

net::awaitable<absl::Status> list(Exchange& ex, backend::VolumeBackend& backend) {
  auto filters = types::parseFilters(ex.request().query.getOr("filters", ""));
  if (!filters.ok()) co_return filters.status();
  auto vols = co_await httputil::offload(ex, [&] { return backend.listVolumes(*filters); });
  if (!vols.ok()) co_return vols.status();
  nlohmann::ordered_json j;
  j["Volumes"] = nlohmann::ordered_json::array();
  for (auto& v : *vols) j["Volumes"].push_back(std::move(v));
  j["Warnings"] = nullptr;
  co_return co_await ex.respond(httputil::jsonResponse(200, j));
}

net::awaitable<absl::Status> inspect(Exchange& ex, backend::VolumeBackend& backend) {
  std::string name = ex.request().pathParams.at("name");
  auto v = co_await httputil::offload(ex, [&] { return backend.inspectVolume(name); });
  if (!v.ok()) co_return v.status();
  co_return co_await ex.respond(httputil::jsonResponse(200, *v));
}

net::awaitable<absl::Status> remove(Exchange& ex, backend::VolumeBackend& backend) {
  std::string name = ex.request().pathParams.at("name");
  bool force = ex.request().query.boolValue("force");
  absl::Status st = co_await httputil::offload(ex, [&] { return backend.removeVolume(name, force); });
  if (!st.ok()) co_return st;
  co_return co_await ex.respond(httputil::emptyResponse(204));
}

net::awaitable<absl::Status> prune(Exchange& ex, backend::VolumeBackend& backend) {
  auto filters = types::parseFilters(ex.request().query.getOr("filters", ""));
  if (!filters.ok()) co_return filters.status();
  auto report = co_await httputil::offload(ex, [&] { return backend.pruneVolumes(*filters); });
  if (!report.ok()) co_return report.status();
  nlohmann::ordered_json j;
  j["VolumesDeleted"] = report->deleted.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(report->deleted);
  j["SpaceReclaimed"] = report->spaceReclaimed;
  co_return co_await ex.respond(httputil::jsonResponse(200, j));
}

}  // namespace

std::vector<httputil::RouteSpec> volumeRoutes(backend::VolumeBackend& backend) {
  auto bind = [&backend](net::awaitable<absl::Status> (*fn)(Exchange&, backend::VolumeBackend&)) {
    return [&backend, fn](Exchange& ex) { return fn(ex, backend); };
  };
  return {
      {"GET", "/volumes", bind(list)},
      {"POST", "/volumes/create", bind(create)},
      {"POST", "/volumes/prune", bind(prune)},
      {"GET", "/volumes/{name}", bind(inspect)},
      {"DELETE", "/volumes/{name}", bind(remove)},
  };
}

}  // namespace berth::api::routes
