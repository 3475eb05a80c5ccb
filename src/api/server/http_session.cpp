#include "api/server/http_session.h"

#include <cstdint>
#include <limits>
#include <array>
#include <optional>
#include <span>

#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without including it
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>  // the close handshake over TLS
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "util/strings.h"
#include "api/server/api_version.h"
#include "api/server/error_status.h"
#include "api/httputil/json_body.h"
#include "util/log.h"

namespace berth::api::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using httputil::Request;
using httputil::Response;

// Plain Asio sockets: Beast's basic_stream would arm a timer around every read
// and write; deadlines here are armed only where one applies.
using UnixStream = net::local::stream_protocol::socket;
using TcpStream = net::ip::tcp::socket;
using TlsStream = net::ssl::stream<net::ip::tcp::socket>;

// Go's net/http allows 1 MiB of headers; registry credentials and build
// configs travel in headers, so stay generous but bounded.
constexpr uint32_t kMaxHeaderBytes = 256 * 1024;
// A body the handler did not read is discarded up to this size to keep the
// connection; past it the connection is closed instead.
constexpr size_t kDrainLimit = 1024 * 1024;
constexpr size_t kReadChunk = 16 * 1024;
// After an error response, how long to keep reading (and dropping) what the
// client still sends, so it sees our response instead of a reset.
constexpr auto kLingerTime = std::chrono::milliseconds(500);

constexpr auto kUseAwaitable = net::use_awaitable;

bool isHttpParseError(const boost::system::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

template <class Stream>
class HttpSession final : public SessionControl, public std::enable_shared_from_this<HttpSession<Stream>> {
  static constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

 public:
  HttpSession(SessionContext& ctx, Stream stream)
      : ctx_(ctx), stream_(std::move(stream)), deadline_(stream_.get_executor()) {}
  ~HttpSession() override { ctx_.registry.remove(this); }

  void start() {
    auto self = this->shared_from_this();
    ctx_.registry.add(this, self);
    net::co_spawn(executor(), [self]() { return self->run(); }, net::detached);
  }

  // SessionControl
  void requestClose() override {
    net::post(executor(), [self = this->shared_from_this()] {
      self->closing_ = true;
      if (self->idle_) self->abort();
      self->fireGone();
    });
  }

 private:
  // The handler's view of the request being served.
  class ExchangeImpl final : public httputil::Exchange {
   public:
    explicit ExchangeImpl(HttpSession& s) : s_(s) {}
    const Request& request() const override { return s_.request_; }
    net::awaitable<absl::StatusOr<std::string>> readBody(size_t limit) override { return s_.readBody(limit); }
    net::awaitable<absl::Status> readBodyStream(std::function<absl::Status(std::string_view)> sink) override {
      return s_.readBodyStream(std::move(sink));
    }
    net::awaitable<absl::Status> respond(Response r) override { return s_.respond(std::move(r)); }
    net::awaitable<absl::Status> openStream(int status, std::string_view contentType,
                                            std::vector<std::pair<std::string, std::string>> headers) override {
      return s_.openStream(status, contentType, std::move(headers));
    }
    net::awaitable<absl::Status> write(std::string_view data) override { return s_.writeChunk(data); }
    bool responded() const override { return s_.responded_; }
    void watchClientGone(std::function<void()> onGone) override { s_.watchClientGone(std::move(onGone)); }
    net::awaitable<absl::StatusOr<std::shared_ptr<httputil::RawConnection>>> hijack(std::string_view contentType) override {
      return s_.hijack(contentType);
    }
    net::awaitable<absl::StatusOr<std::shared_ptr<httputil::RawConnection>>> hijackWebSocket(bool binary) override {
      return s_.hijackWebSocket(binary);
    }
    net::any_io_executor blockingExecutor() const override { return s_.ctx_.blocking; }
    net::any_io_executor executor() const override { return s_.executor(); }

   private:
    HttpSession& s_;
  };

  net::any_io_executor executor() { return stream_.get_executor(); }
  auto& socket() {
    if constexpr (kIsTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  void abort() {
    boost::system::error_code ec;
    socket().shutdown(net::socket_base::shutdown_both, ec);
    socket().close(ec);
  }

  // Closes the connection if it is still waiting when `d` has passed: the
  // pending operation then fails and timedOut_ says why.
  void armDeadline(std::chrono::steady_clock::duration d) {
    timedOut_ = false;
    deadline_.expires_after(d);
    deadline_.async_wait([weak = this->weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;  // disarmed or re-armed
      if (auto self = weak.lock()) {
        self->timedOut_ = true;
        self->abort();
      }
    });
  }
  void disarmDeadline() { deadline_.cancel(); }

  // Headers live in whichever parser holds the request now.
  std::string_view headerValue(std::string_view name) const {
    const http::fields& f = bodyParser_     ? static_cast<const http::fields&>(bodyParser_->get())
                            : streamParser_ ? static_cast<const http::fields&>(streamParser_->get())
                                            : static_cast<const http::fields&>(parser_->get());
    auto it = f.find(name);
    return it == f.end() ? std::string_view() : std::string_view(it->value());
  }

  void fireGone() {
    if (goneCb_) std::exchange(goneCb_, nullptr)();
  }

  net::awaitable<void> run() {
    boost::system::error_code ec;
    if constexpr (kIsTls) {
      armDeadline(ctx_.readTimeout);
      co_await stream_.async_handshake(net::ssl::stream_base::server, net::redirect_error(kUseAwaitable, ec));
      disarmDeadline();
      if (ec) {
        log::debug("TLS handshake failed", {{"error", ec.message()}});
        abort();
        co_return;
      }
    }
    while (!closing_) {
      if (buffer_.size() == 0) {
        // Idle keep-alive: no deadline, as dockerd (pooling clients rely on it).
        idle_ = true;
        size_t n = co_await stream_.async_read_some(buffer_.prepare(kReadChunk), net::redirect_error(kUseAwaitable, ec));
        idle_ = false;
        if (ec) break;
        buffer_.commit(n);
      }
      if (!co_await serveOne()) break;
    }
    co_await closeStream();
  }

  // Serves one request; returns whether the connection stays open.
  net::awaitable<bool> serveOne() {
    boost::system::error_code ec;
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    // Each reader of the body sets its own limit. Not boost::none: Beast 1.74
    // then rejects every request with a Content-Length (beast#2070).
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    // Usually the whole header came with the first read: parse it in place,
    // with no timer and no further I/O.
    size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      // From the first byte on, the header must arrive within the read timeout.
      armDeadline(ctx_.readTimeout);
      co_await http::async_read_header(stream_, buffer_, *parser_, net::redirect_error(kUseAwaitable, ec));
      disarmDeadline();
    }
    if (ec) {
      if (ec == http::error::body_limit) {
        co_await writePlainError(http::status::payload_too_large);
      } else if (ec == http::error::header_limit) {
        co_await writePlainError(http::status::request_header_fields_too_large);
      } else if (isHttpParseError(ec)) {
        co_await writePlainError(http::status::bad_request);
      } else if (!timedOut_) {
        log::debug("reading request", {{"error", ec.message()}});
      }
      co_return false;
    }

    auto& req = parser_->get();
    request_ = Request{};
    request_.method = std::string(req.method_string());
    bodyParser_.reset();
    streamParser_.reset();
    request_.header = [this](std::string_view name) { return headerValue(name); };
    request_.hasBody = !parser_->is_done();
    keepAlive_ = req.keep_alive();
    http10_ = req.version() == 10;
    bodyDone_ = !request_.hasBody;
    responded_ = streaming_ = false;

    absl::Status st = co_await dispatch(req.target());
    // The handler's frame is gone: its client-gone callback must not run.
    goneCb_ = nullptr;
    if (!st.ok()) {
      int code = httpStatusFor(st);
      if (code >= 500) {
        log::error("request failed", {{"method", request_.method}, {"path", request_.path},
                                      {"status", strCat(code)}, {"error", std::string(st.message())}});
      } else {
        log::debug("request refused", {{"method", request_.method}, {"path", request_.path},
                                        {"status", strCat(code)}, {"error", std::string(st.message())}});
      }
      if (!responded_) {
        Response r;
        r.status = code;
        r.body = errorBody(st);
        r.omitBody = request_.method == "HEAD";  // a HEAD answer never carries a body
        co_await respond(std::move(r));
      } else {
        keepAlive_ = false;  // a stream cut short cannot carry a status any more
      }
    } else if (!responded_) {
      log::error("handler returned without a response", {{"method", request_.method}, {"path", request_.path}});
      Response r;
      r.status = 500;
      r.body = errorBody(absl::InternalError("no response"));
      co_await respond(std::move(r));
    }
    if (streaming_) {
      co_await net::async_write(stream_, http::make_chunk_last(), net::redirect_error(kUseAwaitable, ec));
      if (ec) keepAlive_ = false;
    }
    goneCb_ = nullptr;
    if (log::enabled(log::Level::Debug)) {
      log::debug("request", {{"method", request_.method}, {"path", request_.path}, {"version", request_.apiVersion}});
    }
    co_return keepAlive_ && !closing_;
  }

  net::awaitable<absl::Status> dispatch(std::string_view target) {
    size_t q = target.find('?');
    absl::StatusOr<std::string> path = httputil::percentDecode(target.substr(0, q), false);
    if (!path.ok()) co_return path.status();
    VersionedPath vp = splitVersionPrefix(*path);
    request_.path = std::string(vp.path);
    request_.apiVersion = std::string(vp.version.empty() ? kApiVersion : vp.version);
    const Handler* handler = ctx_.router.match(request_.method, request_.path, request_.pathParams);
    if (handler == nullptr) co_return absl::NotFoundError("page not found");
    if (!vp.version.empty()) {
      absl::Status v = checkApiVersion(vp.version);
      if (!v.ok()) co_return v;
    }
    absl::StatusOr<httputil::Query> query =
        httputil::Query::parse(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
    if (!query.ok()) co_return query.status();
    request_.query = std::move(*query);
    try {
      co_return co_await (*handler)(exchange_);
    } catch (const nlohmann::json::type_error& e) {
      co_return httputil::wrongTypeError(e);
    } catch (const std::exception& e) {
      co_return absl::InternalError(strCat("internal error: ", e.what()));
    }
  }

  // The status line and headers of a response, serialized into headBuffer_.
  // `framing` is the Content-Length or Transfer-Encoding line.
  std::string_view buildHead(int code, std::string_view contentType,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             std::string_view headerBlock, std::string_view framing, bool keep) {
    std::string& head = headBuffer_;
    head.clear();
    head.append("HTTP/1.1 ").append(std::to_string(code)).push_back(' ');
    head.append(http::obsolete_reason(static_cast<http::status>(code))).append("\r\n");
    head.append(ctx_.commonHeaderBlock);
    if (!contentType.empty()) head.append("Content-Type: ").append(contentType).append("\r\n");
    for (const auto& [k, v] : headers) head.append(k).append(": ").append(v).append("\r\n");
    head.append(headerBlock);
    head.append(framing).append("\r\n");
    if (!keep) {
      head.append("Connection: close\r\n");
    } else if (http10_) {
      head.append("Connection: keep-alive\r\n");
    }
    head.append("\r\n");
    return head;
  }


  net::awaitable<absl::StatusOr<std::string>> readBody(size_t limit) {
    if (!request_.hasBody) co_return std::string();
    if (bodyDone_) co_return absl::FailedPreconditionError("request body was already read");
    bodyDone_ = true;
    // Beast compares a declared Content-Length with the body limit only when
    // the header completes, before this limit was known: check it here.
    if (auto declared = parser_->content_length(); declared && *declared > limit) co_return refuseBody(limit);
    boost::system::error_code ec;
    http::request_parser<http::string_body>& p = bodyParser_.emplace(std::move(*parser_));
    p.body_limit(limit);  // still enforced while reading a chunked body
    if (beast::iequals(p.get()[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      co_await http::async_write(stream_, cont, net::redirect_error(kUseAwaitable, ec));
      if (ec) co_return absl::CancelledError("client went away");
    }
    armDeadline(ctx_.readTimeout);
    co_await http::async_read(stream_, buffer_, p, net::redirect_error(kUseAwaitable, ec));
    disarmDeadline();
    if (ec == http::error::body_limit) co_return refuseBody(limit);
    if (ec) {
      keepAlive_ = false;
      co_return absl::InvalidArgumentError(strCat("reading request body: ", ec.message()));
    }
    co_return std::move(p.get().body());
  }

  net::awaitable<absl::Status> readBodyStream(std::function<absl::Status(std::string_view)> sink) {
    if (!request_.hasBody) co_return absl::OkStatus();
    if (bodyDone_) co_return absl::FailedPreconditionError("request body was already read");
    bodyDone_ = true;
    boost::system::error_code ec;
    http::request_parser<http::buffer_body>& p = streamParser_.emplace(std::move(*parser_));
    p.body_limit(std::numeric_limits<std::uint64_t>::max());  // (boost::none is broken in Boost 1.74)
    if (beast::iequals(p.get()[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      co_await http::async_write(stream_, cont, net::redirect_error(kUseAwaitable, ec));
      if (ec) co_return absl::CancelledError("client went away");
    }
    std::vector<char> buf(256 * 1024);
    while (!p.is_done()) {
      p.get().body().data = buf.data();
      p.get().body().size = buf.size();
      armDeadline(ctx_.readTimeout);
      co_await http::async_read_some(stream_, buffer_, p, net::redirect_error(kUseAwaitable, ec));
      disarmDeadline();
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        keepAlive_ = false;
        co_return absl::InvalidArgumentError(strCat("reading request body: ", ec.message()));
      }
      size_t n = buf.size() - p.get().body().size;
      if (n == 0) continue;
      absl::Status st = sink(std::string_view(buf.data(), n));
      if (!st.ok()) {
        keepAlive_ = false;  // the rest of the body is not read
        co_return st;
      }
    }
    co_return absl::OkStatus();
  }

  // A body over `limit` is left unread: the connection closes after the
  // answer, with a linger so the client can still read it.
  absl::Status refuseBody(size_t limit) {
    keepAlive_ = false;
    lingerOnClose_ = true;
    return absl::ResourceExhaustedError(strCat("request body is larger than ", limit, " bytes"));
  }

  // Reads and drops a body the handler left, so the next request parses.
  net::awaitable<void> drainBody() {
    if (bodyDone_) co_return;
    absl::StatusOr<std::string> ignored = co_await readBody(kDrainLimit);
    if (!ignored.ok()) keepAlive_ = false;
  }

  net::awaitable<absl::Status> respond(Response r) {
    if (responded_) co_return absl::FailedPreconditionError("response already sent");
    co_await drainBody();
    responded_ = true;
    bool keep = keepAlive_ && !closing_;
    // One buffer for the head, sent with the body in a single gather write.
    std::string_view head =
        buildHead(r.status, r.contentType, r.headers, r.headerBlock, strCat("Content-Length: ", r.body.size()), keep);
    std::array<net::const_buffer, 2> buffers{net::buffer(head), net::buffer(r.body)};
    boost::system::error_code ec;
    co_await net::async_write(stream_, std::span(buffers).first(r.omitBody ? 1 : 2),
                              net::redirect_error(kUseAwaitable, ec));
    if (!keep || ec) keepAlive_ = false;
    if (ec) co_return absl::CancelledError("client went away");
    co_return absl::OkStatus();
  }

  net::awaitable<absl::Status> openStream(int status, std::string_view contentType,
                                          std::vector<std::pair<std::string, std::string>> headers) {
    if (responded_) co_return absl::FailedPreconditionError("response already sent");
    co_await drainBody();
    responded_ = streaming_ = true;
    // A stream runs until one side leaves; the connection ends with it.
    keepAlive_ = false;
    std::string_view head = buildHead(status, contentType, headers, {}, "Transfer-Encoding: chunked", false);
    boost::system::error_code ec;
    co_await net::async_write(stream_, net::buffer(head), net::redirect_error(kUseAwaitable, ec));
    if (ec) co_return absl::CancelledError("client went away");
    co_return absl::OkStatus();
  }

  net::awaitable<absl::Status> writeChunk(std::string_view data) {
    if (!streaming_) co_return absl::FailedPreconditionError("no stream is open");
    if (data.empty()) co_return absl::OkStatus();  // an empty chunk would end the stream
    boost::system::error_code ec;
    co_await net::async_write(stream_, http::make_chunk(net::const_buffer(data.data(), data.size())),
                              net::redirect_error(kUseAwaitable, ec));
    if (ec) co_return absl::CancelledError("client went away");
    co_return absl::OkStatus();
  }

  class Hijacked final : public httputil::RawConnection {
   public:
    explicit Hijacked(std::shared_ptr<HttpSession> s) : s_(std::move(s)) {}
    net::awaitable<absl::StatusOr<size_t>> readSome(char* data, size_t size) override {
      // Bytes that came with the request head go first.
      if (s_->buffer_.size() > 0) {
        size_t n = std::min(size, s_->buffer_.size());
        net::buffer_copy(net::buffer(data, n), s_->buffer_.data());
        s_->buffer_.consume(n);
        co_return n;
      }
      boost::system::error_code ec;
      size_t n = co_await s_->stream_.async_read_some(net::buffer(data, size), net::redirect_error(kUseAwaitable, ec));
      if (ec == net::error::eof || (n == 0 && !ec)) co_return size_t(0);
      if (ec) co_return absl::CancelledError("client went away");
      co_return n;
    }
    net::awaitable<absl::Status> write(std::string_view data) override {
      boost::system::error_code ec;
      co_await net::async_write(s_->stream_, net::buffer(data.data(), data.size()), net::redirect_error(kUseAwaitable, ec));
      if (ec) co_return absl::CancelledError("client went away");
      co_return absl::OkStatus();
    }
    bool shutdownWrite() override {
      if constexpr (kIsTls) {
        return false;
      } else {
        boost::system::error_code ec;
        s_->socket().shutdown(net::socket_base::shutdown_send, ec);
        return !ec;
      }
    }
    void close() override { s_->abort(); }

   private:
    std::shared_ptr<HttpSession> s_;
  };

  net::awaitable<absl::StatusOr<std::shared_ptr<httputil::RawConnection>>> hijack(std::string_view contentType) {
    if (responded_) co_return absl::FailedPreconditionError("response already sent");
    co_await drainBody();
    responded_ = true;
    keepAlive_ = false;
    bool upgrade = beast::iequals(headerValue("Upgrade"), "tcp");
    std::string& head = headBuffer_;
    head.clear();
    head.append(upgrade ? "HTTP/1.1 101 UPGRADED\r\n" : "HTTP/1.1 200 OK\r\n");
    head.append("Content-Type: ").append(contentType).append("\r\n");
    if (upgrade) head.append("Connection: Upgrade\r\nUpgrade: tcp\r\n");
    head.append(ctx_.commonHeaderBlock);
    head.append("\r\n");
    boost::system::error_code ec;
    co_await net::async_write(stream_, net::buffer(head), net::redirect_error(kUseAwaitable, ec));
    if (ec) co_return absl::CancelledError("client went away");
    co_return std::shared_ptr<httputil::RawConnection>(std::make_shared<Hijacked>(this->shared_from_this()));
  }

  // Beast's WebSocket over this session's stream: framing, masking, ping/pong
  // and the close handshake are the library's.
  class WebSocket final : public httputil::RawConnection, public std::enable_shared_from_this<WebSocket> {
   public:
    WebSocket(std::shared_ptr<HttpSession> s, bool binary) : s_(std::move(s)), ws_(s_->stream_) {
      ws_.binary(binary);
      ws_.read_message_max(1 << 20);
    }
    net::awaitable<absl::Status> accept(const http::request<http::empty_body>& req) {
      boost::system::error_code ec;
      ws_.set_option(beast::websocket::stream_base::decorator([block = std::string(s_->ctx_.commonHeaderBlock)](
                                                                  beast::websocket::response_type& res) {
        // The same Server/API-Version headers as every other response.
        for (std::string_view line : split(block, '\n', true)) {
          if (line.ends_with('\r')) line.remove_suffix(1);
          size_t colon = line.find(':');
          if (colon == std::string_view::npos) continue;
          std::string_view value = line.substr(colon + 1);
          if (value.starts_with(' ')) value.remove_prefix(1);
          res.set(line.substr(0, colon), value);
        }
      }));
      co_await ws_.async_accept(req, net::redirect_error(kUseAwaitable, ec));
      if (ec) co_return absl::CancelledError("client went away");
      co_return absl::OkStatus();
    }
    net::awaitable<absl::StatusOr<size_t>> readSome(char* data, size_t size) override {
      boost::system::error_code ec;
      size_t n = co_await ws_.async_read_some(net::buffer(data, size), net::redirect_error(kUseAwaitable, ec));
      if (ec == beast::websocket::error::closed || ec == net::error::eof) co_return size_t(0);
      if (ec) co_return absl::CancelledError("client went away");
      co_return n;
    }
    net::awaitable<absl::Status> write(std::string_view data) override {
      boost::system::error_code ec;
      co_await ws_.async_write(net::buffer(data.data(), data.size()), net::redirect_error(kUseAwaitable, ec));
      if (ec) co_return absl::CancelledError("client went away");
      co_return absl::OkStatus();
    }
    bool shutdownWrite() override {
      // The close frame; the client answers with its own, which ends readSome().
      net::co_spawn(
          s_->executor(),
          [self = this->shared_from_this()]() -> net::awaitable<void> {
            boost::system::error_code ec;
            co_await self->ws_.async_close(beast::websocket::close_code::normal, net::redirect_error(kUseAwaitable, ec));
          },
          net::detached);
      return true;
    }
    void close() override { s_->abort(); }

   private:
    std::shared_ptr<HttpSession> s_;
    beast::websocket::stream<Stream&> ws_;
  };

  net::awaitable<absl::StatusOr<std::shared_ptr<httputil::RawConnection>>> hijackWebSocket(bool binary) {
    if (responded_) co_return absl::FailedPreconditionError("response already sent");
    if (!beast::websocket::is_upgrade(parser_->get())) {
      co_return absl::InvalidArgumentError("not a websocket handshake: want GET with Upgrade: websocket");
    }
    responded_ = true;
    keepAlive_ = false;
    auto ws = std::make_shared<WebSocket>(this->shared_from_this(), binary);
    absl::Status s = co_await ws->accept(parser_->get());
    if (!s.ok()) co_return s;
    co_return std::shared_ptr<httputil::RawConnection>(ws);
  }

  void watchClientGone(std::function<void()> onGone) {
    goneCb_ = std::move(onGone);
    keepAlive_ = false;  // the watcher owns the read side from now on
    if (closing_) {
      fireGone();
      return;
    }
    if (watching_) return;
    watching_ = true;
    net::co_spawn(
        executor(),
        [self = this->shared_from_this()]() -> net::awaitable<void> {
          char scratch[512];
          boost::system::error_code ec;
          while (!ec) {
            co_await self->stream_.async_read_some(net::buffer(scratch), net::redirect_error(kUseAwaitable, ec));
          }
          self->watching_ = false;
          self->fireGone();
        },
        net::detached);
  }

  // For requests that cannot be parsed: a plain-text status as Go's server
  // sends it; the connection then closes with a linger (see lingerClose).
  net::awaitable<void> writePlainError(http::status status) {
    http::response<http::string_body> res{status, 11};
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = strCat(static_cast<int>(status), " ", http::obsolete_reason(status));
    res.keep_alive(false);
    res.prepare_payload();
    boost::system::error_code ec;
    co_await http::async_write(stream_, res, net::redirect_error(kUseAwaitable, ec));
    if (!ec) lingerOnClose_ = true;
  }

  // Closing with request bytes still unread makes the peer's send fail (and
  // TCP resets can discard our response on its side): stop sending, drop
  // what still arrives for a short while, then close.
  net::awaitable<void> lingerClose() {
    boost::system::error_code ec;
    socket().shutdown(net::socket_base::shutdown_send, ec);
    armDeadline(kLingerTime);
    char scratch[16 * 1024];
    while (!ec) {
      co_await socket().async_read_some(net::buffer(scratch), net::redirect_error(kUseAwaitable, ec));
    }
  }

  net::awaitable<void> closeStream() {
    boost::system::error_code ec;
    if constexpr (kIsTls) {
      armDeadline(std::chrono::seconds(2));
      co_await stream_.async_shutdown(net::redirect_error(kUseAwaitable, ec));
    } else {
      if (lingerOnClose_) co_await lingerClose();
    }
    abort();
  }

  SessionContext& ctx_;
  Stream stream_;
  net::steady_timer deadline_;
  bool timedOut_ = false;
  bool lingerOnClose_ = false;  // request bytes may be left unread: see lingerClose()
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::optional<http::request_parser<http::string_body>> bodyParser_;
  std::optional<http::request_parser<http::buffer_body>> streamParser_;
  Request request_;
  ExchangeImpl exchange_{*this};
  std::function<void()> goneCb_;
  bool idle_ = false;
  bool closing_ = false;
  bool keepAlive_ = true;
  bool http10_ = false;     // the request was HTTP/1.0: keep-alive must be explicit
  std::string headBuffer_;  // reused between responses
  bool bodyDone_ = true;
  bool responded_ = false;
  bool streaming_ = false;
  bool watching_ = false;
};

}  // namespace

void SessionRegistry::add(SessionControl* key, std::weak_ptr<SessionControl> session) {
  std::shared_ptr<SessionControl> closeNow;
  {
    std::lock_guard lock(mu_);
    if (closing_) closeNow = session.lock();
    sessions_.emplace(key, std::move(session));
  }
  if (closeNow) closeNow->requestClose();
}

void SessionRegistry::remove(SessionControl* key) {
  std::lock_guard lock(mu_);
  sessions_.erase(key);
}

void SessionRegistry::closeAll() {
  std::vector<std::shared_ptr<SessionControl>> live;
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    for (auto& [key, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->requestClose();
}

size_t SessionRegistry::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

void startUnixSession(SessionContext& ctx, net::local::stream_protocol::socket socket) {
  std::make_shared<HttpSession<UnixStream>>(ctx, UnixStream(std::move(socket)))->start();
}

void startTcpSession(SessionContext& ctx, net::ip::tcp::socket socket) {
  boost::system::error_code ec;
  socket.set_option(net::ip::tcp::no_delay(true), ec);
  std::make_shared<HttpSession<TcpStream>>(ctx, TcpStream(std::move(socket)))->start();
}

void startTlsSession(SessionContext& ctx, net::ip::tcp::socket socket, net::ssl::context& tls) {
  boost::system::error_code ec;
  socket.set_option(net::ip::tcp::no_delay(true), ec);
  std::make_shared<HttpSession<TlsStream>>(ctx, TlsStream(std::move(socket), tls))->start();
}

}  // namespace berth::api::server
