#include "api/routes/system/system_routes.h"

#include <chrono>
#include <deque>
#include <mutex>

#include "util/strings.h"
#include "api/httputil/async_signal.h"
#include "api/httputil/json_io.h"
#include "api/httputil/offload.h"
#include "util/timestamp.h"

namespace berth::api::routes {
namespace {

namespace net = boost::asio;

using httputil::Exchange;
using httputil::Response;

// A subscriber that falls this far behind is cut off rather than letting
// its queue grow without bound.
constexpr size_t kMaxQueuedEvents = 10000;

net::awaitable<absl::Status> ping(Exchange& ex) {
  // Builder-Version 1: the classic builder API (no BuildKit).
  static constexpr std::string_view kPingHeaders =
      "Builder-Version: 1\r\n"
      "Swarm: inactive\r\n"
      "Cache-Control: no-cache, no-store, must-revalidate\r\n"
      "Pragma: no-cache\r\n";
  Response r;
  r.contentType = "text/plain; charset=utf-8";
  r.headerBlock = kPingHeaders;
  if (ex.request().method == "HEAD") {
    r.omitBody = true;
  } else {
    r.body = "OK";
  }
  co_return co_await ex.respond(std::move(r));
}

absl::StatusOr<std::optional<SystemTime>> timeParam(const httputil::Query& q, std::string_view key) {
  auto v = q.get(key);
  if (!v || v->empty()) return std::optional<SystemTime>();
  auto t = parseApiTimestamp(*v);
  if (!t.ok()) return absl::InvalidArgumentError(strCat("invalid value for ", key, ": ", t.status().message()));
  return std::optional<SystemTime>(*t);
}

// Streams events as JSON lines: first the recorded ones in [since, until],
// then live ones until `until` passes or the client leaves.
net::awaitable<absl::Status> events(Exchange& ex, backend::SystemBackend& backend) {
  const httputil::Query& q = ex.request().query;
  backend::EventQuery query;
  auto since = timeParam(q, "since");
  if (!since.ok()) co_return since.status();
  auto until = timeParam(q, "until");
  if (!until.ok()) co_return until.status();
  auto filters = types::parseFilters(q.getOr("filters", ""));
  if (!filters.ok()) co_return filters.status();
  query.since = *since;
  query.until = *until;
  query.filters = std::move(*filters);

  struct Shared {
    explicit Shared(net::any_io_executor ex) : signal(ex) {}
    std::mutex mu;
    std::deque<types::Event> queue;  // guarded by mu
    bool overflow = false;           // guarded by mu
    bool gone = false;               // strand only
    httputil::AsyncSignal signal;
  };
  auto shared = std::make_shared<Shared>(ex.executor());
  auto stream = backend.events(query, [shared](const types::Event& e) {
    {
      std::lock_guard lock(shared->mu);
      if (shared->queue.size() >= kMaxQueuedEvents) {
        shared->overflow = true;
      } else {
        shared->queue.push_back(e);
      }
    }
    shared->signal.notify();
  });
  if (!stream.ok()) co_return stream.status();

  absl::Status st = co_await ex.openStream(200, "application/json");
  if (!st.ok()) co_return st;
  for (const types::Event& e : stream->past) {
    st = co_await ex.write(httputil::jsonLine(types::toJson(e)));
    if (!st.ok()) co_return st;
  }
  if (!stream->live) co_return absl::OkStatus();

  ex.watchClientGone([shared] {
    shared->gone = true;
    shared->signal.notify();
  });
  std::optional<std::chrono::steady_clock::time_point> deadline;
  int64_t untilNanos = query.until ? toUnixNanos(*query.until) : INT64_MAX;
  if (query.until) deadline = std::chrono::steady_clock::now() + (*query.until - nowSystem());
  for (;;) {
    std::deque<types::Event> batch;
    bool overflow = false;
    {
      std::lock_guard lock(shared->mu);
      batch.swap(shared->queue);
      overflow = shared->overflow;
    }
    for (const types::Event& e : batch) {
      if (e.timeNano > untilNanos) co_return absl::OkStatus();
      st = co_await ex.write(httputil::jsonLine(types::toJson(e)));
      if (!st.ok()) co_return st;
    }
    if (overflow || shared->gone) co_return absl::OkStatus();
    if (deadline && std::chrono::steady_clock::now() >= *deadline) co_return absl::OkStatus();
    co_await shared->signal.wait(deadline);
  }
}

net::awaitable<absl::Status> diskUsage(Exchange& ex, backend::SystemBackend& backend) {
  backend::DiskUsageQuery query;
  for (std::string_view t : ex.request().query.all("type")) query.types.emplace_back(t);
  auto usage = co_await httputil::offload(ex, [&] { return backend.diskUsage(query); });
  if (!usage.ok()) co_return usage.status();
  co_return co_await ex.respond(httputil::jsonResponse(200, types::toJson(*usage)));
}

}  // namespace

std::vector<httputil::RouteSpec> systemRoutes(backend::SystemBackend& backend) {
  // The version never changes while running: serialize it once.
  auto versionBody = std::make_shared<const std::string>(httputil::jsonLine(types::toJson(backend.version())));
  return {
      {"GET", "/_ping", ping},
      {"HEAD", "/_ping", ping},
      {"GET", "/version",
       [versionBody](Exchange& ex) -> net::awaitable<absl::Status> {
         Response r;
         r.body = *versionBody;
         co_return co_await ex.respond(std::move(r));
       }},
      {"GET", "/info",
       [&backend](Exchange& ex) -> net::awaitable<absl::Status> {
         auto info = co_await httputil::offload(ex, [&] { return backend.info(); });
         if (!info.ok()) co_return info.status();
         co_return co_await ex.respond(httputil::jsonResponse(200, types::toJson(*info)));
       }},
      {"GET", "/events", [&backend](Exchange& ex) { return events(ex, backend); }},
      {"GET", "/system/df", [&backend](Exchange& ex) { return diskUsage(ex, backend); }},
  };
}

}  // namespace berth::api::routes
