#pragma once
// HTTP/1.1 sessions over unix, TCP and TLS streams. One coroutine per
// connection on its own strand: read a request, dispatch it through the
// router, write the response, repeat while keep-alive holds.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>

#include "api/server/router.h"

namespace berth::api::server {

namespace net = boost::asio;

// What a live session offers the server for shutdown.
class SessionControl {
 public:
  virtual ~SessionControl() = default;
  // Thread-safe: closes the connection if idle; otherwise the current
  // request finishes (streams are told the client is gone) and then it closes.
  virtual void requestClose() = 0;
};

// Live sessions, so shutdown can close idle ones and wait for the rest.
class SessionRegistry {
 public:
  void add(SessionControl* key, std::weak_ptr<SessionControl> session);
  void remove(SessionControl* key);
  void closeAll();
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<SessionControl*, std::weak_ptr<SessionControl>> sessions_;  // guarded by mu_
  bool closing_ = false;  // guarded by mu_: sessions added after closeAll() are closed at once
};

struct SessionContext {
  const Router& router;
  SessionRegistry& registry;
  net::any_io_executor blocking;
  std::chrono::seconds readTimeout;
  // Sent on every response (Server, Api-Version, Docker-Experimental,
  // Ostype), serialized once: "Name: value\r\n" each.
  std::string commonHeaderBlock;
};

void startUnixSession(SessionContext& ctx, net::local::stream_protocol::socket socket);
void startTcpSession(SessionContext& ctx, net::ip::tcp::socket socket);
void startTlsSession(SessionContext& ctx, net::ip::tcp::socket socket, net::ssl::context& tls);

}  // namespace berth::api::server
