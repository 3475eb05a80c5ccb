#pragma once
// The handler's view of one HTTP request/response. Handlers never see sockets
// or Beast types: they read the request, optionally read its body, and either
// respond once or open a stream and write to it. Implemented by the server's
// session; one Exchange lives for one request and is used from one strand.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "absl/status/statusor.h"
#include "api/httputil/query.h"

namespace berth::api::httputil {

namespace net = boost::asio;

struct Request {
  std::string method;      // "GET", "POST", …
  std::string path;        // percent-decoded, without the /vX.Y prefix
  std::string apiVersion;  // from the prefix, or the server's version when absent
  Query query;
  std::map<std::string, std::string, std::less<>> pathParams;
  // Header lookup, case-insensitive; empty when absent.
  std::function<std::string_view(std::string_view)> header;
  bool hasBody = false;    // Content-Length > 0 or chunked
};

struct Response {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Constant headers already serialized ("Name: value\r\n" each), for
  // handlers whose headers never change; sent after `headers`.
  std::string_view headerBlock;
  // HEAD-style: send headers (and this Content-Length) but no body bytes.
  bool omitBody = false;
};

// A connection taken over by its handler after the upgrade (attach, exec):
// raw bytes both ways, no HTTP framing. Reads and writes may be pending at
// the same time (one of each). Keeps the connection alive while held.
class RawConnection {
 public:
  virtual ~RawConnection() = default;
  // Bytes the client sent; 0 at its end of stream (or half-close).
  virtual net::awaitable<absl::StatusOr<size_t>> readSome(char* data, size_t size) = 0;
  virtual net::awaitable<absl::Status> write(std::string_view data) = 0;
  // Ends our sending side (the client sees end of stream) but keeps
  // reading. false where the transport cannot (TLS): then just close.
  virtual bool shutdownWrite() = 0;
  virtual void close() = 0;
};

class Exchange {
 public:
  virtual ~Exchange() = default;

  virtual const Request& request() const = 0;

  // Reads the whole request body (de-chunked). ResourceExhausted past `limit`
  // bytes; InvalidArgument if the client sends a malformed body. At most once.
  virtual net::awaitable<absl::StatusOr<std::string>> readBody(size_t limit) = 0;

  // Streams the body to `sink` piece by piece (image loads and imports,
  // archives): nothing is held whole. An error from `sink` stops reading and
  // is returned; the connection then closes. At most once, instead of readBody.
  virtual net::awaitable<absl::Status> readBodyStream(std::function<absl::Status(std::string_view)> sink) = 0;

  // Sends a complete response. At most once, and not after openStream().
  virtual net::awaitable<absl::Status> respond(Response response) = 0;

  // Sends the status line and headers of a chunked response now, so the
  // client sees it before the first payload; then write() sends chunks.
  virtual net::awaitable<absl::Status> openStream(int status, std::string_view contentType,
                                                  std::vector<std::pair<std::string, std::string>> headers = {}) = 0;
  virtual net::awaitable<absl::Status> write(std::string_view data) = 0;

  // Takes the connection over, as dockerd's attach and exec do: with the
  // client's `Upgrade: tcp`, answers 101 UPGRADED; without, a 200 whose body
  // is the raw stream. The connection closes when the handler returns.
  virtual net::awaitable<absl::StatusOr<std::shared_ptr<RawConnection>>> hijack(std::string_view contentType) = 0;

  // Takes the connection over as a WebSocket (attach/ws): answers the
  // client's handshake with 101 Switching Protocols; then readSome() yields
  // the payload of the client's messages and write() sends one message each,
  // binary when `binary`, else text. shutdownWrite() sends the close frame.
  // InvalidArgument (nothing sent) when the request is no WebSocket handshake.
  virtual net::awaitable<absl::StatusOr<std::shared_ptr<RawConnection>>> hijackWebSocket(bool binary) = 0;

  // True once anything of the response went out: errors after that cannot be
  // reported as a status and end the connection instead.
  virtual bool responded() const = 0;

  // Runs `onGone` (on this exchange's strand) when the client closes the
  // connection or the server shuts down. For long streams (events, logs).
  virtual void watchClientGone(std::function<void()> onGone) = 0;

  // Executor for blocking work (database, /proc, engine calls).
  virtual net::any_io_executor blockingExecutor() const = 0;
  // Executor of this exchange's strand.
  virtual net::any_io_executor executor() const = 0;
};

// A route handler: returns a non-OK status to have the server send dockerd's
// JSON error (only possible while nothing was sent yet).
using Handler = std::function<net::awaitable<absl::Status>(Exchange&)>;

struct RouteSpec {
  std::string method;
  std::string pattern;  // "/containers/{id}/json", "/images/{name:.*}/json"
  Handler handler;
};

}  // namespace berth::api::httputil
