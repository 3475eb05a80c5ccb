#pragma once
// Binding the -H addresses. Everything is bound before the server starts, so
// a taken port, a socket in use or a refused plain-TCP address fails start-up
// with a clear message instead of a half-running daemon.
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "absl/status/statusor.h"
#include "api/server/server_options.h"

namespace berth::api::server {

namespace net = boost::asio;

struct BoundListener {
  std::string address;  // for logs: "unix:///run/berth/berth.sock"
  std::unique_ptr<net::local::stream_protocol::acceptor> unix;
  std::unique_ptr<net::ip::tcp::acceptor> tcp;
  bool tls = false;
  std::string socketFile;  // a unix socket file this daemon created; removed on close

  BoundListener() = default;
  BoundListener(BoundListener&&) = default;
  BoundListener& operator=(BoundListener&&) = default;
  ~BoundListener();
  void close();
};

absl::StatusOr<std::vector<BoundListener>> bindListeners(net::io_context& ioc, const ServerOptions& options);

}  // namespace berth::api::server
