#include "api/routes/images/image_routes.h"

#include <memory>

#include "api/httputil/json_io.h"
#include "api/httputil/line_relay.h"
#include "api/httputil/offload.h"
#include "util/strings.h"

namespace berth::api::routes {
namespace {

namespace net = boost::asio;
using httputil::Exchange;

std::string progressErrorLine(const absl::Status& st) {
  return httputil::jsonLine(types::progressError(toStd(st.message())));
}

net::awaitable<absl::Status> createImage(Exchange& ex, backend::ImageBackend& backend) {
  const httputil::Query& q = ex.request().query;
  if (q.has("fromSrc")) {
    co_return absl::UnimplementedError(
        "POST /images/create with fromSrc (import) is not implemented in Berth yet (see docs/api-coverage.md)");
  }
  backend::ImagePullOptions options;
  options.fromImage = std::string(q.getOr("fromImage", ""));
  options.tag = std::string(q.getOr("tag", ""));
  options.platform = std::string(q.getOr("platform", ""));
  options.registryAuth = std::string(ex.request().header("X-Registry-Auth"));
  auto relay = std::make_shared<httputil::LineRelay>(ex.executor());
  backend.startPull(
      std::move(options),
      [relay](const types::ProgressLine& line) { relay->push(httputil::jsonLine(types::toJson(line))); },
      [relay](absl::Status st) { relay->finish(std::move(st)); });
  co_return co_await relay->relay(ex, progressErrorLine);
}

net::awaitable<absl::Status> pushImage(Exchange& ex, backend::ImageBackend& backend) {
  backend::ImagePushOptions options;
  options.name = ex.request().pathParams.at("name");
  options.tag = std::string(ex.request().query.getOr("tag", ""));
  options.registryAuth = std::string(ex.request().header("X-Registry-Auth"));
  auto relay = std::make_shared<httputil::LineRelay>(ex.executor());
  backend.startPush(
      std::move(options),
      [relay](const types::ProgressLine& line) { relay->push(httputil::jsonLine(types::toJson(line))); },
      [relay](absl::Status st) { relay->finish(std::move(st)); });
  co_return co_await relay->relay(ex, progressErrorLine);
}

net::awaitable<absl::Status> distributionInspect(Exchange& ex, backend::ImageBackend& backend) {
  std::string name = ex.request().pathParams.at("name");
  std::string auth(ex.request().header("X-Registry-Auth"));
  auto result = co_await httputil::offload(ex, [&] { return backend.distributionInspect(name, auth); });
  if (!result.ok()) co_return result.status();
  co_return co_await ex.respond(httputil::jsonResponse(200, types::toJson(*result)));
}

template <class T>
nlohmann::ordered_json jsonArray(const std::vector<T>& items) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const T& item : items) a.push_back(types::toJson(item));
  return a;
}

net::awaitable<absl::Status> listImages(Exchange& ex, backend::ImageBackend& backend) {
  const httputil::Query& q = ex.request().query;
  backend::ImageListOptions options;
  options.all = q.boolValue("all");
  auto filters = types::parseFilters(q.getOr("filters", ""));
  if (!filters.ok()) co_return filters.status();
  options.filters = std::move(*filters);
  // API < 1.41 still sends the old `filter` (reference) parameter.
  if (auto legacy = q.get("filter"); legacy && !legacy->empty()) options.filters["reference"].insert(std::string(*legacy));
  auto images = co_await httputil::offload(ex, [&] { return backend.listImages(options); });
  if (!images.ok()) co_return images.status();
  co_return co_await ex.respond(httputil::jsonResponse(200, jsonArray(*images)));
}

net::awaitable<absl::Status> inspectImage(Exchange& ex, backend::ImageBackend& backend) {
  std::string name = ex.request().pathParams.at("name");
  auto image = co_await httputil::offload(ex, [&] { return backend.inspectImage(name); });
  if (!image.ok()) co_return image.status();
  co_return co_await ex.respond(httputil::jsonResponse(200, types::toJson(*image)));
}

net::awaitable<absl::Status> history(Exchange& ex, backend::ImageBackend& backend) {
  std::string name = ex.request().pathParams.at("name");
  auto items = co_await httputil::offload(ex, [&] { return backend.imageHistory(name); });
  if (!items.ok()) co_return items.status();
  co_return co_await ex.respond(httputil::jsonResponse(200, jsonArray(*items)));
}

net::awaitable<absl::Status> tagImage(Exchange& ex, backend::ImageBackend& backend) {
  std::string name = ex.request().pathParams.at("name");
  std::string repo(ex.request().query.getOr("repo", ""));
  std::string tag(ex.request().query.getOr("tag", ""));
  absl::Status st = co_await httputil::offload(ex, [&] { return backend.tagImage(name, repo, tag); });
  if (!st.ok()) co_return st;
  httputil::Response r;
  r.status = 201;
  r.contentType = "";
  co_return co_await ex.respond(std::move(r));
}

net::awaitable<absl::Status> removeImage(Exchange& ex, backend::ImageBackend& backend) {
  std::string name = ex.request().pathParams.at("name");
  backend::ImageRemoveOptions options;
  options.force = ex.request().query.boolValue("force");
  options.noprune = ex.request().query.boolValue("noprune");
  auto items = co_await httputil::offload(ex, [&] { return backend.removeImage(name, options); });
  if (!items.ok()) co_return items.status();
  co_return co_await ex.respond(httputil::jsonResponse(200, jsonArray(*items)));
}

net::awaitable<absl::Status> pruneImages(Exchange& ex, backend::ImageBackend& backend) {
  auto filters = types::parseFilters(ex.request().query.getOr("filters", ""));
  if (!filters.ok()) co_return filters.status();
  auto report = co_await httputil::offload(ex, [&] { return backend.pruneImages(*filters); });
  if (!report.ok()) co_return report.status();
  co_return co_await ex.respond(httputil::jsonResponse(200, types::toJson(*report)));
}

net::awaitable<absl::Status> login(Exchange& ex, backend::ImageBackend& backend) {
  auto body = co_await httputil::readJsonBody(ex);
  if (!body.ok()) co_return body.status();
  std::string text = body->dump();
  auto result = co_await httputil::offload(ex, [&] { return backend.login(text); });
  if (!result.ok()) co_return result.status();
  nlohmann::ordered_json j;
  j["IdentityToken"] = result->identityToken;
  j["Status"] = result->status;
  co_return co_await ex.respond(httputil::jsonResponse(200, j));
}

}  // namespace

std::vector<httputil::RouteSpec> imageRoutes(backend::ImageBackend& backend) {
  auto bind = [&backend](net::awaitable<absl::Status> (*fn)(Exchange&, backend::ImageBackend&)) {
    return [&backend, fn](Exchange& ex) { return fn(ex, backend); };
  };
  return {
      {"POST", "/images/create", bind(createImage)},
      {"GET", "/images/json", bind(listImages)},
      {"POST", "/images/prune", bind(pruneImages)},
      {"GET", "/images/{name:.*}/json", bind(inspectImage)},
      {"GET", "/images/{name:.*}/history", bind(history)},
      {"POST", "/images/{name:.*}/tag", bind(tagImage)},
      {"POST", "/images/{name:.*}/push", bind(pushImage)},
      {"GET", "/distribution/{name:.*}/json", bind(distributionInspect)},
      {"DELETE", "/images/{name:.*}", bind(removeImage)},
      {"POST", "/auth", bind(login)},
  };
}

}  // namespace berth::api::routes
