// Container routes that hold a connection open: attach (hijacked), logs,
// wait, stats, and the lifecycle calls that wait for an exit (stop, restart).
#include "api/routes/containers/container_stream_routes.h"

#include <time.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "api/httputil/async_signal.h"
#include "api/httputil/json_io.h"
#include "api/httputil/offload.h"
#include "api/types/body_schema.h"
#include "runtime/monitor_protocol.h"
#include "util/base64.h"
#include "util/strings.h"
#include "util/version_compare.h"
#include "util/unique_fd.h"
#include "util/timestamp.h"

namespace berth::api::routes {
namespace {

namespace net = boost::asio;
namespace proto = runtime::monitor;
using httputil::Exchange;
using MonitorSocket = net::local::stream_protocol::socket;
constexpr auto kAwait = net::use_awaitable;

constexpr const char* kRawStream = "application/vnd.docker.raw-stream";
constexpr const char* kMuxStream = "application/vnd.docker.multiplexed-stream";

// Logs' --timestamps: RFC 3339 with all nine digits (Go's RFC3339NanoFixed).
std::string fixedTimestamp(int64_t nanos) {
  time_t secs = time_t(nanos / 1000000000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  snprintf(buf + n, sizeof buf - n, ".%09lldZ", static_cast<long long>(nanos % 1000000000));
  return buf;
}

void appendFrame(std::string& out, uint8_t stream, std::string_view a, std::string_view b = {}) {
  unsigned char h[proto::kHeaderSize];
  proto::encodeHeader(stream, uint32_t(a.size() + b.size()), h);
  out.append(reinterpret_cast<const char*>(h), sizeof h);
  out.append(a);
  out.append(b);
}

// Docker's detach keys: "ctrl-p,ctrl-q" (the default), letters, "ctrl-@" … "ctrl-_".
absl::StatusOr<std::string> parseDetachKeys(std::string_view spec) {
  if (spec.empty()) spec = "ctrl-p,ctrl-q";
  std::string out;
  for (std::string_view k : split(spec, ',')) {
    if (k.size() == 1) {
      out.push_back(k[0]);
    } else if (k.starts_with("ctrl-") && k.size() == 6) {
      char c = k[5];
      if (c >= 'a' && c <= 'z') out.push_back(char(c - 'a' + 1));
      else if (c == '@') out.push_back(0);
      else if (c >= '[' && c <= '_') out.push_back(char(c - 'A' + 1));
      else return absl::InvalidArgumentError(strCat("Invalid escape keys (", spec, ") provided"));
    } else {
      return absl::InvalidArgumentError(strCat("Invalid escape keys (", spec, ") provided"));
    }
  }
  return out;
}

// Streams a log reader to `write` as Docker frames (or raw bytes for a TTY)
// until it is finished (follow) or drained.
// `raw`: stdout and stderr without the 8-byte stream headers, as for a TTY
// (the WebSocket attach sends them so).
net::awaitable<absl::Status> pumpLogs(Exchange& ex, backend::LogReader& reader, bool follow, bool timestamps,
                                      const std::function<net::awaitable<absl::Status>(std::string_view)>& write,
                                      bool raw = false) {
  bool tty = raw || reader.tty();
  auto gone = std::make_shared<bool>(false);
  std::optional<net::posix::stream_descriptor> change;
  if (follow && reader.changeFd() >= 0) {
    change.emplace(ex.executor(), ::dup(reader.changeFd()));
  }
  net::steady_timer tick(ex.executor());
  for (;;) {
    bool last = follow && reader.finished();
    std::string out;
    absl::Status st = reader.readAvailable([&](const backend::LogLine& l) {
      std::string ts = timestamps ? fixedTimestamp(l.timeNanos) + " " : std::string();
      if (tty) {
        out += ts;
        out.append(l.data);
      } else {
        appendFrame(out, l.stream, ts, l.data);
      }
    });
    if (!st.ok()) co_return st;
    if (!out.empty()) {
      // Large logs go out in pieces so a slow client applies back-pressure.
      for (size_t off = 0; off < out.size(); off += 1 << 20) {
        absl::Status w = co_await write(std::string_view(out).substr(off, 1 << 20));
        if (!w.ok()) co_return absl::OkStatus();  // the client left
      }
    }
    if (!follow || last || *gone) co_return absl::OkStatus();
    // Wait for more: the log changes (inotify), or a second passes (to
    // notice the container stopping), whichever first.
    tick.expires_after(std::chrono::seconds(1));
    if (change) {
      tick.async_wait([&change](const boost::system::error_code& ec) {
        if (!ec) change->cancel();
      });
      boost::system::error_code ec;
      co_await change->async_wait(net::posix::descriptor_base::wait_read, net::redirect_error(kAwait, ec));
      tick.cancel();
      reader.drainChange();
    } else {
      boost::system::error_code ec;
      co_await tick.async_wait(net::redirect_error(kAwait, ec));
    }
  }
}

net::awaitable<absl::Status> logs(Exchange& ex, backend::ContainerBackend& backend) {
  const httputil::Query& q = ex.request().query;
  backend::LogsOptions o;
  o.stdoutWanted = q.boolValue("stdout");
  o.stderrWanted = q.boolValue("stderr");
  if (!o.stdoutWanted && !o.stderrWanted) co_return absl::InvalidArgumentError("Bad parameters: you must choose at least one stream");
  o.follow = q.boolValue("follow");
  o.timestamps = q.boolValue("timestamps");
  std::string tail(q.getOr("tail", "all"));
  if (tail != "all" && !tail.empty()) {
    int64_t n = 0;
    // dockerd treats a tail it cannot parse as "all".
    if (parseInt(tail, n) && n >= 0) o.tail = n;
  }
  for (const char* key : {"since", "until"}) {
    std::string v(q.getOr(key, ""));
    if (v.empty() || v == "0") continue;
    absl::StatusOr<SystemTime> t = parseApiTimestamp(v);
    if (!t.ok()) co_return absl::InvalidArgumentError(strCat("invalid value for \"", key, "\": ", t.status().message()));
    (std::string_view(key) == "since" ? o.sinceNanos : o.untilNanos) = toUnixNanos(*t);
  }
  std::string id = ex.request().pathParams.at("id");
  auto reader = co_await httputil::offload(ex, [&] { return backend.containerLogs(id, o); });
  if (!reader.ok()) co_return reader.status();
  absl::Status st = co_await ex.openStream(200, (*reader)->tty() ? kRawStream : kMuxStream);
  if (!st.ok()) co_return st;
  bool gone = false;
  ex.watchClientGone([&gone] { gone = true; });
  co_return co_await pumpLogs(ex, **reader, o.follow, o.timestamps,
                              [&ex, &gone](std::string_view d) -> net::awaitable<absl::Status> {
                                if (gone) co_return absl::CancelledError("client went away");
                                co_return co_await ex.write(d);
                              });
}

// Client → monitor: stdin frames, then close-stdin at the client's end of
// stream. The detach keys end the attach without touching the container.
// Without stdin the client's bytes are read and dropped, so its end of
// stream is seen and the connection never closes with data unread (which
// would reset it and could cost the client output it has not read yet).
net::awaitable<void> relayStdin(std::shared_ptr<httputil::RawConnection> client, std::shared_ptr<MonitorSocket> monitor,
                                std::string detachKeys, bool tty, bool forward, std::shared_ptr<httputil::AsyncSignal> done) {
  char buf[32 * 1024];
  size_t matched = 0;
  for (;;) {
    absl::StatusOr<size_t> n = co_await client->readSome(buf, sizeof buf);
    boost::system::error_code ec;
    if (!forward) {
      if (!n.ok() || *n == 0) break;
      continue;
    }
    if (!n.ok() || *n == 0) {
      if (n.ok()) {
        std::string f = proto::frame(proto::kCloseStdin, "");
        co_await net::async_write(*monitor, net::buffer(f), net::redirect_error(kAwait, ec));
      }
      break;
    }
    std::string_view data(buf, *n);
    if (tty && !detachKeys.empty()) {
      for (size_t i = 0; i < data.size(); ++i) {
        matched = data[i] == detachKeys[matched] ? matched + 1 : (data[i] == detachKeys[0] ? 1 : 0);
        if (matched == detachKeys.size()) {
          boost::system::error_code ignored;
          monitor->close(ignored);  // ends the output relay too
          done->notify();
          co_return;
        }
      }
    }
    std::string f = proto::frame(proto::kStdin, data);
    co_await net::async_write(*monitor, net::buffer(f), net::redirect_error(kAwait, ec));
    if (ec) break;
  }
  done->notify();
}

// Relays a hijacked client and a container's (or exec's) monitor
// connection until the process exits, the client leaves or detaches.
// Output is multiplexed unless the process has a TTY or `raw` is asked for.
net::awaitable<void> relay(Exchange& ex, std::shared_ptr<httputil::RawConnection> client, backend::AttachTarget target,
                           const std::string& streams, const std::string& detachKeys, bool raw = false) {
  auto monitor = std::make_shared<MonitorSocket>(ex.executor(), net::local::stream_protocol(), target.stream.release());
  auto readerDone = std::make_shared<httputil::AsyncSignal>(ex.executor());
  bool forward = streams.find('i') != std::string::npos;
  net::co_spawn(ex.executor(), relayStdin(client, monitor, detachKeys, target.tty, forward, readerDone), net::detached);
  // Monitor → client until the container exits (or a detach closes it).
  unsigned char h[proto::kHeaderSize];
  std::string payload;
  for (;;) {
    boost::system::error_code ec;
    co_await net::async_read(*monitor, net::buffer(h), net::redirect_error(kAwait, ec));
    if (ec) break;
    uint32_t len = proto::decodeLength(h);
    if (len > proto::kMaxFrame) break;
    payload.resize(len);
    co_await net::async_read(*monitor, net::buffer(payload), net::redirect_error(kAwait, ec));
    if (ec || h[0] == proto::kExit) break;
    if (h[0] != proto::kStdout && h[0] != proto::kStderr) continue;
    absl::Status w = target.tty || raw ? co_await client->write(payload)
                         : co_await client->write(std::string(reinterpret_cast<char*>(h), sizeof h) + payload);
    if (!w.ok()) break;
  }
  boost::system::error_code ignored;
  monitor->close(ignored);
  // End our side first and let the client close its own: what it has not
  // read yet is not lost to a reset. A client that stays gets 2 s.
  if (client->shutdownWrite()) {
    co_await readerDone->wait(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  }
  client->close();
}


// POST /containers/{id}/attach (hijacked, `websocket` false) and
// GET /containers/{id}/attach/ws (a WebSocket: output unmultiplexed, in binary
// messages from API 1.42 on and text ones before, as dockerd sends them).
net::awaitable<absl::Status> attachCommon(Exchange& ex, backend::ContainerBackend& backend, bool websocket) {
  const httputil::Query& q = ex.request().query;
  std::string streams;
  if (q.boolValue("stdin")) streams += "i";
  if (q.boolValue("stdout")) streams += "o";
  if (q.boolValue("stderr")) streams += "e";
  bool stream = q.boolValue("stream");
  bool withLogs = q.boolValue("logs");
  auto keys = parseDetachKeys(q.getOr("detachKeys", ""));
  if (!keys.ok()) co_return keys.status();
  std::string id = ex.request().pathParams.at("id");
  // Inspect first, for the 404 before the upgrade.
  std::unique_ptr<backend::LogReader> reader;
  if (withLogs) {
    backend::LogsOptions o;
    o.stdoutWanted = streams.find('o') != std::string::npos;
    o.stderrWanted = streams.find('e') != std::string::npos;
    auto r = co_await httputil::offload(ex, [&] { return backend.containerLogs(id, o); });
    if (!r.ok()) co_return r.status();
    reader = std::move(*r);
  }
  std::optional<backend::AttachTarget> target;
  if (stream) {
    auto t = co_await httputil::offload(ex, [&] { return backend.attachContainer(id, streams); });
    if (!t.ok()) co_return t.status();
    target = std::move(*t);
  } else if (!withLogs) {
    auto doc = co_await httputil::offload(ex, [&] { return backend.inspectContainer(id, false); });
    if (!doc.ok()) co_return doc.status();
  }
  bool tty = target ? target->tty : (reader && reader->tty());
  absl::StatusOr<std::shared_ptr<httputil::RawConnection>> conn;
  if (websocket) {
    conn = co_await ex.hijackWebSocket(compareVersions(ex.request().apiVersion, "1.42") >= 0);
    if (absl::IsInvalidArgument(conn.status())) co_return conn.status();
  } else {
    conn = co_await ex.hijack(tty ? kRawStream : kMuxStream);
  }
  if (!conn.ok()) co_return absl::OkStatus();  // the client left
  std::shared_ptr<httputil::RawConnection> client = *conn;
  if (reader) {
    (void)co_await pumpLogs(
        ex, *reader, false, false, [&client](std::string_view d) { return client->write(d); }, websocket);
  }
  if (!target) {
    if (websocket && client->shutdownWrite()) {
      char scratch[256];
      while (true) {  // until the client answers the close frame
        absl::StatusOr<size_t> n = co_await client->readSome(scratch, sizeof scratch);
        if (!n.ok() || *n == 0) break;
      }
    }
    co_return absl::OkStatus();
  }
  co_await relay(ex, client, std::move(*target), streams, *keys, websocket);
  co_return absl::OkStatus();
}

net::awaitable<absl::Status> attach(Exchange& ex, backend::ContainerBackend& backend) {
  return attachCommon(ex, backend, false);
}

net::awaitable<absl::Status> attachWebSocket(Exchange& ex, backend::ContainerBackend& backend) {
  return attachCommon(ex, backend, true);
}

net::awaitable<absl::Status> wait(Exchange& ex, backend::ContainerBackend& backend) {
  std::string_view c = ex.request().query.getOr("condition", "");
  backend::WaitCondition condition;
  if (c.empty() || c == "not-running") {
    condition = backend::WaitCondition::NotRunning;
  } else if (c == "next-exit") {
    condition = backend::WaitCondition::NextExit;
  } else if (c == "removed") {
    condition = backend::WaitCondition::Removed;
  } else {
    co_return absl::InvalidArgumentError(strCat("invalid condition: \"", c, "\""));
  }
  struct Shared {
    explicit Shared(net::any_io_executor ex) : signal(ex) {}
    httputil::AsyncSignal signal;
    std::mutex mu;
    std::optional<backend::WaitResult> result;
  };
  auto shared = std::make_shared<Shared>(ex.executor());
  std::string id = ex.request().pathParams.at("id");
  auto now = co_await httputil::offload(ex, [&] {
    return backend.waitContainer(id, condition, [shared](backend::WaitResult r) {
      {
        std::lock_guard lock(shared->mu);
        shared->result = std::move(r);
      }
      shared->signal.notify();
    });
  });
  if (!now.ok()) co_return now.status();
  auto body = [](const backend::WaitResult& r) {
    nlohmann::ordered_json j;
    j["StatusCode"] = r.statusCode;
    if (!r.error.empty()) j["Error"] = {{"Message", r.error}};
    return j.dump() + "\n";
  };
  if (*now) co_return co_await ex.respond(httputil::jsonResponse(200, nlohmann::ordered_json::parse(body(**now))));
  // The head goes out now, so the client knows the wait is registered
  // before it starts the container (docker run relies on this).
  absl::Status st = co_await ex.openStream(200, "application/json");
  if (!st.ok()) co_return st;
  bool gone = false;
  ex.watchClientGone([&gone, shared] {
    gone = true;
    shared->signal.notify();
  });
  for (;;) {
    co_await shared->signal.wait(std::nullopt);
    std::lock_guard lock(shared->mu);
    if (shared->result) break;
    if (gone) co_return absl::OkStatus();
  }
  co_return co_await ex.write(body(*shared->result));
}

// Waits (without holding a thread) for a callback-style engine call.
template <class T>
struct Completion {
  explicit Completion(net::any_io_executor ex) : signal(ex) {}
  httputil::AsyncSignal signal;
  std::mutex mu;
  std::optional<T> value;
  void set(T v) {
    {
      std::lock_guard lock(mu);
      value = std::move(v);
    }
    signal.notify();
  }
  net::awaitable<T> get() {
    for (;;) {
      co_await signal.wait(std::nullopt);
      std::lock_guard lock(mu);
      if (value) co_return std::move(*value);
    }
  }
};

absl::StatusOr<std::optional<int>> stopTimeout(const httputil::Query& q) {
  auto t = q.intValue("t");
  if (!t.ok()) return t.status();
  if (!*t) return std::optional<int>();
  return std::optional<int>(int(**t));
}

net::awaitable<absl::Status> stop(Exchange& ex, backend::ContainerBackend& backend) {
  auto timeout = stopTimeout(ex.request().query);
  if (!timeout.ok()) co_return timeout.status();
  std::string id = ex.request().pathParams.at("id");
  std::string signal(ex.request().query.getOr("signal", ""));
  auto done = std::make_shared<Completion<bool>>(ex.executor());
  auto stopping = co_await httputil::offload(ex, [&] {
    return backend.stopContainer(id, signal, *timeout, [done] { done->set(true); });
  });
  if (!stopping.ok()) co_return stopping.status();
  if (!*stopping) co_return co_await ex.respond(httputil::emptyResponse(304));
  co_await done->get();
  co_return co_await ex.respond(httputil::emptyResponse(204));
}

net::awaitable<absl::Status> restart(Exchange& ex, backend::ContainerBackend& backend) {
  auto timeout = stopTimeout(ex.request().query);
  if (!timeout.ok()) co_return timeout.status();
  std::string id = ex.request().pathParams.at("id");
  auto done = std::make_shared<Completion<absl::Status>>(ex.executor());
  absl::Status st = co_await httputil::offload(ex, [&] {
    return backend.restartContainer(id, *timeout, [done](absl::Status s) { done->set(std::move(s)); });
  });
  if (!st.ok()) co_return st;
  absl::Status started = co_await done->get();
  if (!started.ok()) co_return started;
  co_return co_await ex.respond(httputil::emptyResponse(204));
}

net::awaitable<absl::Status> stats(Exchange& ex, backend::ContainerBackend& backend) {
  const httputil::Query& q = ex.request().query;
  bool stream = !q.has("stream") || q.boolValue("stream");
  bool oneShot = q.boolValue("one-shot");
  std::string id = ex.request().pathParams.at("id");
  auto first = co_await httputil::offload(ex, [&] { return backend.containerStats(id, nullptr); });
  if (!first.ok()) co_return first.status();
  net::steady_timer timer(ex.executor());
  if (!stream) {
    if (oneShot) co_return co_await ex.respond(httputil::jsonResponse(200, *first));
    // As dockerd: two samples a second apart, so precpu_stats is filled in.
    timer.expires_after(std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(kAwait, ec));
    nlohmann::ordered_json prev = *first;
    auto second = co_await httputil::offload(ex, [&] { return backend.containerStats(id, &prev); });
    if (!second.ok()) co_return second.status();
    co_return co_await ex.respond(httputil::jsonResponse(200, *second));
  }
  absl::Status st = co_await ex.openStream(200, "application/json");
  if (!st.ok()) co_return st;
  bool gone = false;
  ex.watchClientGone([&gone, &timer] {
    gone = true;
    timer.cancel();
  });
  nlohmann::ordered_json current = *first;
  while (!gone) {
    if (!(co_await ex.write(current.dump() + "\n")).ok()) break;
    timer.expires_after(std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(kAwait, ec));
    if (gone) break;
    nlohmann::ordered_json prev = current;
    auto next = co_await httputil::offload(ex, [&] { return backend.containerStats(id, &prev); });
    if (!next.ok()) break;
    current = std::move(*next);
  }
  co_return absl::OkStatus();
}

net::awaitable<absl::Status> execCreate(Exchange& ex, backend::ContainerBackend& backend) {
  auto body = co_await httputil::readJsonBody(ex);
  if (!body.ok()) co_return body.status();
  if (!body->is_object()) co_return absl::InvalidArgumentError("exec config must be an object");
  if (auto st = types::checkBodyTypes(*body, types::kExecCreateBody); !st.ok()) co_return st;
  std::string id = ex.request().pathParams.at("id");
  auto created = co_await httputil::offload(ex, [&] { return backend.createExec(id, *body); });
  if (!created.ok()) co_return created.status();
  nlohmann::ordered_json j;
  j["Id"] = *created;
  co_return co_await ex.respond(httputil::jsonResponse(201, j));
}

net::awaitable<absl::Status> execStart(Exchange& ex, backend::ContainerBackend& backend) {
  auto body = co_await httputil::readJsonBody(ex);
  if (!body.ok()) co_return body.status();
  bool detach = body->is_object() && body->value("Detach", false);
  std::string id = ex.request().pathParams.at("id");
  auto inspect = co_await httputil::offload(ex, [&] { return backend.inspectExec(id); });
  if (!inspect.ok()) co_return inspect.status();
  if (detach) {
    auto target = co_await httputil::offload(ex, [&] { return backend.startExec(id, true); });
    if (!target.ok()) co_return target.status();
    co_return co_await ex.respond(httputil::emptyResponse(200));
  }
  std::string streams;
  if ((*inspect)["OpenStdin"].get<bool>()) streams += "i";
  if ((*inspect)["OpenStdout"].get<bool>()) streams += "o";
  if ((*inspect)["OpenStderr"].get<bool>()) streams += "e";
  auto keys = parseDetachKeys((*inspect)["DetachKeys"].get<std::string>());
  if (!keys.ok()) keys = std::string();
  bool tty = (*inspect)["ProcessConfig"]["tty"].get<bool>();
  // As dockerd: upgrade first, so a process that cannot start reports its
  // error in the stream (and its exit code through exec inspect).
  auto conn = co_await ex.hijack(tty ? kRawStream : kMuxStream);
  if (!conn.ok()) co_return absl::OkStatus();
  auto target = co_await httputil::offload(ex, [&] { return backend.startExec(id, false); });
  if (!target.ok()) {
    std::string msg = strCat("OCI runtime exec failed: ", target.status().message(), "\r\n");
    std::string out;
    if (tty) {
      out = msg;
    } else {
      appendFrame(out, 1, msg);
    }
    (void)co_await (*conn)->write(out);
    (*conn)->close();
    co_return absl::OkStatus();
  }
  co_await relay(ex, *conn, std::move(*target), streams, *keys);
  co_return absl::OkStatus();
}

net::awaitable<absl::Status> execInspect(Exchange& ex, backend::ContainerBackend& backend) {
  std::string id = ex.request().pathParams.at("id");
  auto doc = co_await httputil::offload(ex, [&] { return backend.inspectExec(id); });
  if (!doc.ok()) co_return doc.status();
  co_return co_await ex.respond(httputil::jsonResponse(200, *doc));
}

net::awaitable<absl::Status> execResize(Exchange& ex, backend::ContainerBackend& backend) {
  std::string id = ex.request().pathParams.at("id");
  auto size = terminalSize(ex.request().query);
  if (!size.ok()) co_return size.status();
  absl::Status st = co_await httputil::offload(ex, [&] { return backend.resizeExec(id, size->first, size->second); });
  if (!st.ok()) co_return st;
  co_return co_await ex.respond(httputil::emptyResponse(200));
}

// The rest of an open stream's body: the file from its offset on.
net::awaitable<void> streamFile(Exchange& ex, int fd) {
  std::string buf(256 * 1024, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    if (!(co_await ex.write(std::string_view(buf.data(), size_t(n)))).ok()) break;
  }
}

std::string pathStatHeader(const backend::PathStat& st) {
  nlohmann::ordered_json j;
  j["name"] = st.name;
  j["size"] = st.size;
  j["mode"] = st.mode;
  j["mtime"] = st.mtime;
  j["linkTarget"] = st.linkTarget;
  return base64Encode(j.dump());
}

absl::StatusOr<std::string> archivePath(const httputil::Query& q) {
  std::string path(q.getOr("path", ""));
  if (path.empty()) return absl::InvalidArgumentError("path is required");
  return path;
}

net::awaitable<absl::Status> archiveHead(Exchange& ex, backend::ContainerBackend& backend) {
  auto path = archivePath(ex.request().query);
  if (!path.ok()) co_return path.status();
  std::string id = ex.request().pathParams.at("id");
  auto st = co_await httputil::offload(ex, [&] { return backend.statContainerPath(id, *path); });
  if (!st.ok()) co_return st.status();
  httputil::Response r;
  r.status = 200;
  r.contentType = "";
  r.headers.emplace_back("X-Docker-Container-Path-Stat", pathStatHeader(*st));
  co_return co_await ex.respond(std::move(r));
}

net::awaitable<absl::Status> archiveGet(Exchange& ex, backend::ContainerBackend& backend) {
  auto path = archivePath(ex.request().query);
  if (!path.ok()) co_return path.status();
  std::string id = ex.request().pathParams.at("id");
  auto archive = co_await httputil::offload(ex, [&] { return backend.archiveContainerPath(id, *path); });
  if (!archive.ok()) co_return archive.status();
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("X-Docker-Container-Path-Stat", pathStatHeader(archive->first));
  absl::Status st = co_await ex.openStream(200, "application/x-tar", std::move(headers));
  if (!st.ok()) co_return st;
  co_await streamFile(ex, archive->second.get());
  co_return absl::OkStatus();
}

net::awaitable<absl::Status> archivePut(Exchange& ex, backend::ContainerBackend& backend) {
  const httputil::Query& q = ex.request().query;
  auto path = archivePath(q);
  if (!path.ok()) co_return path.status();
  std::string id = ex.request().pathParams.at("id");
  // The container first: a 404 before the body is read.
  auto doc = co_await httputil::offload(ex, [&] { return backend.inspectContainer(id, false); });
  if (!doc.ok()) co_return doc.status();
  auto scratch = co_await httputil::offload(ex, [&] { return backend.scratchFile(); });
  if (!scratch.ok()) co_return scratch.status();
  int fd = scratch->get();
  absl::Status body = co_await ex.readBodyStream([fd](std::string_view chunk) { return writeAll(fd, chunk); });
  if (!body.ok()) co_return body;
  bool noOverwrite = q.boolValue("noOverwriteDirNonDir");
  bool copyUIDGID = q.boolValue("copyUIDGID");
  absl::Status st = co_await httputil::offload(
      ex, [&] { return backend.extractToContainer(id, *path, fd, noOverwrite, copyUIDGID); });
  if (!st.ok()) co_return st;
  co_return co_await ex.respond(httputil::emptyResponse(200));
}

net::awaitable<absl::Status> exportTar(Exchange& ex, backend::ContainerBackend& backend) {
  std::string id = ex.request().pathParams.at("id");
  auto tar = co_await httputil::offload(ex, [&] { return backend.exportContainer(id); });
  if (!tar.ok()) co_return tar.status();
  absl::Status st = co_await ex.openStream(200, "application/x-tar");
  if (!st.ok()) co_return st;
  co_await streamFile(ex, tar->get());
  co_return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::pair<unsigned, unsigned>> terminalSize(const httputil::Query& query) {
  auto h = query.intValue("h");
  if (!h.ok()) return h.status();
  auto w = query.intValue("w");
  if (!w.ok()) return w.status();
  return std::make_pair(unsigned(h->value_or(0)), unsigned(w->value_or(0)));
}

std::vector<httputil::RouteSpec> containerStreamRoutes(backend::ContainerBackend& backend) {
  auto bind = [&backend](net::awaitable<absl::Status> (*fn)(Exchange&, backend::ContainerBackend&)) {
    return [&backend, fn](Exchange& ex) { return fn(ex, backend); };
  };
  return {
      {"GET", "/containers/{id}/logs", bind(logs)},
      {"POST", "/containers/{id}/attach", bind(attach)},
      {"GET", "/containers/{id}/attach/ws", bind(attachWebSocket)},
      {"POST", "/containers/{id}/wait", bind(wait)},
      {"POST", "/containers/{id}/stop", bind(stop)},
      {"POST", "/containers/{id}/restart", bind(restart)},
      {"GET", "/containers/{id}/stats", bind(stats)},
      {"POST", "/containers/{id}/exec", bind(execCreate)},
      {"HEAD", "/containers/{id}/archive", bind(archiveHead)},
      {"GET", "/containers/{id}/archive", bind(archiveGet)},
      {"PUT", "/containers/{id}/archive", bind(archivePut)},
      {"GET", "/containers/{id}/export", bind(exportTar)},
      {"POST", "/exec/{id}/start", bind(execStart)},
      {"GET", "/exec/{id}/json", bind(execInspect)},
      {"POST", "/exec/{id}/resize", bind(execResize)},
  };
}

}  // namespace berth::api::routes
