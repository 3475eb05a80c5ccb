#include "api/routes/images/image_routes.h"

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <set>

#include "api/httputil/json_io.h"
#include "api/httputil/line_relay.h"
#include "api/httputil/offload.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/tar_writer.h"
#include "util/unique_fd.h"

namespace berth::api::routes {
namespace {

namespace net = boost::asio;
using httputil::Exchange;

std::string progressErrorLine(const absl::Status& st) {
  return httputil::jsonLine(types::progressError(toStd(st.message())));
}

// The request body into a spool file (load, import).
net::awaitable<absl::StatusOr<std::unique_ptr<backend::UploadSpool>>> spoolBody(Exchange& ex,
                                                                                backend::ImageBackend& backend) {
  auto spool = co_await httputil::offload(ex, [&] { return backend.newSpool(); });
  if (!spool.ok()) co_return spool.status();
  backend::UploadSpool* s = spool->get();
  absl::Status st = co_await ex.readBodyStream([s](std::string_view data) { return s->write(data); });
  if (!st.ok()) co_return st;
  co_return std::move(*spool);
}

net::awaitable<absl::Status> importImage(Exchange& ex, backend::ImageBackend& backend) {
  const httputil::Query& q = ex.request().query;
  backend::ImageImportOptions options;
  options.source = std::string(q.getOr("fromSrc", ""));
  options.repo = std::string(q.getOr("repo", ""));
  options.tag = std::string(q.getOr("tag", ""));
  options.message = std::string(q.getOr("message", ""));
  options.platform = std::string(q.getOr("platform", ""));
  for (std::string_view c : q.all("changes")) options.changes.emplace_back(c);
  std::unique_ptr<backend::UploadSpool> body;
  if (options.source == "-") {
    auto spooled = co_await spoolBody(ex, backend);
    if (!spooled.ok()) co_return spooled.status();
    body = std::move(*spooled);
  }
  auto id = co_await httputil::offload(ex, [&] { return backend.importImage(options, body.get()); });
  if (!id.ok()) co_return id.status();
  nlohmann::ordered_json j;
  j["status"] = *id;
  co_return co_await ex.respond(httputil::jsonResponse(200, j));
}

net::awaitable<absl::Status> loadImages(Exchange& ex, backend::ImageBackend& backend) {
  auto body = co_await spoolBody(ex, backend);
  if (!body.ok()) co_return body.status();
  auto lines = co_await httputil::offload(ex, [&] { return backend.loadImages(**body); });
  if (!lines.ok()) co_return lines.status();
  std::string out;
  for (const std::string& line : *lines) {
    nlohmann::ordered_json j;
    j["stream"] = line + "\n";
    out += httputil::jsonLine(j);
  }
  httputil::Response r;
  r.body = std::move(out);
  co_return co_await ex.respond(std::move(r));
}

// Streams the archive: headers built here, file bytes read off the I/O
// threads a chunk at a time.
net::awaitable<absl::Status> saveImages(Exchange& ex, backend::ImageBackend& backend, std::vector<std::string> names) {
  auto files = co_await httputil::offload(ex, [&] { return backend.saveImages(names); });
  if (!files.ok()) co_return files.status();
  absl::Status st = co_await ex.openStream(200, "application/x-tar");
  if (!st.ok()) co_return st;
  const int64_t mtime = 0;
  std::set<std::string> dirs;
  std::vector<char> buf(1 << 20);
  for (const backend::ArchiveFile& f : *files) {
    // Parent directories first, as tar readers expect.
    for (size_t slash = f.name.find('/'); slash != std::string::npos; slash = f.name.find('/', slash + 1)) {
      std::string dir = f.name.substr(0, slash);
      if (dirs.insert(dir).second && !(st = co_await ex.write(tarDirHeader(dir, mtime))).ok()) co_return st;
    }
    if (!(st = co_await ex.write(tarFileHeader(f.name, f.size, mtime))).ok()) co_return st;
    if (f.path.empty()) {
      if (!(st = co_await ex.write(f.data)).ok()) co_return st;
    } else {
      UniqueFd fd(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd.valid()) co_return errnoStatus(errno, strCat("open ", f.name));
      for (int64_t done = 0; done < f.size;) {
        size_t want = size_t(std::min<int64_t>(int64_t(buf.size()), f.size - done));
        ssize_t n = co_await httputil::offload(ex, [&] { return ::pread(fd.get(), buf.data(), want, done); });
        if (n <= 0) co_return absl::DataLossError(strCat("short read of ", f.name));
        if (!(st = co_await ex.write(std::string_view(buf.data(), size_t(n)))).ok()) co_return st;
        done += n;
      }
    }
    if (!(st = co_await ex.write(tarPadding(f.size))).ok()) co_return st;
  }
  co_return co_await ex.write(tarEnd());
}

net::awaitable<absl::Status> createImage(Exchange& ex, backend::ImageBackend& backend) {
  const httputil::Query& q = ex.request().query;
  if (q.has("fromSrc")) co_return co_await importImage(ex, backend);
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
  co_return co_await ex.respond(httputil::emptyResponse(201));
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
      {"POST", "/images/load", bind(loadImages)},
      {"GET", "/images/get",
       [&backend](Exchange& ex) {
         std::vector<std::string> names;
         for (std::string_view n : ex.request().query.all("names")) names.emplace_back(n);
         return saveImages(ex, backend, std::move(names));
       }},
      {"GET", "/images/{name:.*}/get",
       [&backend](Exchange& ex) { return saveImages(ex, backend, {ex.request().pathParams.at("name")}); }},
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
