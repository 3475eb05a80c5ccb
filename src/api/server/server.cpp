#include "api/server/server.h"

#include <thread>

#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without including it
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "util/strings.h"
#include "api/server/api_version.h"
#include "util/log.h"

namespace berth::api::server {
namespace {

absl::StatusOr<net::ssl::context> makeTlsContext(const TlsOptions& o) {
  net::ssl::context ctx(net::ssl::context::tls_server);
  // TLS 1.2 or newer, as dockerd.
  ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                  net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1 |
                  net::ssl::context::single_dh_use);
  boost::system::error_code ec;
  if (o.certFile.empty() || o.keyFile.empty()) {
    return absl::InvalidArgumentError("TLS needs --tlscert and --tlskey");
  }
  ctx.use_certificate_chain_file(o.certFile, ec);
  if (ec) return absl::InvalidArgumentError(strCat("TLS: load certificate ", o.certFile, ": ", ec.message()));
  ctx.use_private_key_file(o.keyFile, net::ssl::context::pem, ec);
  if (ec) return absl::InvalidArgumentError(strCat("TLS: load key ", o.keyFile, ": ", ec.message()));
  if (o.verify) {
    if (o.caFile.empty()) return absl::InvalidArgumentError("--tlsverify needs --tlscacert");
    ctx.load_verify_file(o.caFile, ec);
    if (ec) return absl::InvalidArgumentError(strCat("TLS: load CA ", o.caFile, ": ", ec.message()));
    ctx.set_verify_mode(net::ssl::verify_peer | net::ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

// Runs a context until stopped. When it runs dry it polls for up to
// kSpinBeforeSleep before blocking: a request/response client usually sends
// its next request within microseconds, and waking a sleeping thread costs far
// more than that on virtual machines (the same trade Go's scheduler makes
// with its spinning threads). The spin is bounded, so an idle daemon sleeps.
constexpr auto kSpinBeforeSleep = std::chrono::microseconds(50);

void runContext(net::io_context& ctx) {
  while (!ctx.stopped()) {
    if (ctx.poll() > 0) continue;
    auto until = std::chrono::steady_clock::now() + kSpinBeforeSleep;
    size_t ran = 0;
    while (ran == 0 && !ctx.stopped() && std::chrono::steady_clock::now() < until) ran = ctx.poll();
    if (ran == 0) ctx.run_one();
  }
}

}  // namespace

Server::Server(ServerOptions options, Router router)
    : options_(std::move(options)),
      router_(std::move(router)),
      blocking_(static_cast<size_t>(std::max(1, options_.blockingThreads))) {
  int n = options_.ioThreads > 0 ? options_.ioThreads : static_cast<int>(std::thread::hardware_concurrency());
  for (int i = 0; i < std::max(1, n); ++i) contexts_.push_back(std::make_unique<net::io_context>(1));
}

absl::StatusOr<std::unique_ptr<Server>> Server::create(ServerOptions options, Router router) {
  std::unique_ptr<Server> s(new Server(std::move(options), std::move(router)));
  if (s->options_.tls.verify) s->options_.tls.enabled = true;
  if (s->options_.tls.enabled) {
    auto ctx = makeTlsContext(s->options_.tls);
    if (!ctx.ok()) return ctx.status();
    s->tls_.emplace(std::move(*ctx));
  }
  auto listeners = bindListeners(s->ioContext(), s->options_);
  if (!listeners.ok()) return listeners.status();
  s->listeners_ = std::move(*listeners);
  s->sessionContext_ = std::unique_ptr<SessionContext>(new SessionContext{
      s->router_,
      s->registry_,
      s->blocking_.get_executor(),
      s->options_.readTimeout,
      strCat("Server: Berth/", s->options_.serverVersion, " (linux)\r\n",
             "Api-Version: ", kApiVersion, "\r\n",
             "Docker-Experimental: false\r\n",
             "Ostype: linux\r\n"),
  });
  return s;
}

Server::~Server() {
  blocking_.join();
  for (auto& l : listeners_) l.close();
}

std::vector<std::string> Server::addresses() const {
  std::vector<std::string> out;
  for (const auto& l : listeners_) out.push_back(l.address);
  return out;
}

net::awaitable<void> Server::acceptLoop(BoundListener& listener) {
  boost::system::error_code ec;
  net::steady_timer backoff(co_await net::this_coro::executor);
  for (;;) {
    if (listener.unix) {
      auto socket =
          co_await listener.unix->async_accept(nextContext().get_executor(), net::redirect_error(net::use_awaitable, ec));
      if (!ec) startUnixSession(*sessionContext_, std::move(socket));
    } else {
      auto socket =
          co_await listener.tcp->async_accept(nextContext().get_executor(), net::redirect_error(net::use_awaitable, ec));
      if (!ec) {
        if (listener.tls) {
          startTlsSession(*sessionContext_, std::move(socket), *tls_);
        } else {
          startTcpSession(*sessionContext_, std::move(socket));
        }
      }
    }
    if (ec == net::error::operation_aborted || stopping_) co_return;
    if (ec) {
      // Out of fds or memory: back off instead of spinning.
      log::warn("accept failed", {{"listener", listener.address}, {"error", ec.message()}});
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
  }
}

void Server::run() {
  for (auto& l : listeners_) {
    net::co_spawn(ioContext(), acceptLoop(l), net::detached);
    log::info("API listening", {{"address", l.address}});
  }
  // Contexts other than the first may be idle between connections.
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  for (size_t i = 1; i < contexts_.size(); ++i) {
    guards.push_back(net::make_work_guard(*contexts_[i]));
    threads.emplace_back([ctx = contexts_[i].get()] { runContext(*ctx); });
  }
  runContext(ioContext());
  for (auto& t : threads) t.join();
}

void Server::shutdown() {
  if (stopping_.exchange(true)) return;
  net::co_spawn(ioContext(), drainAndStop(), net::detached);
}

net::awaitable<void> Server::drainAndStop() {
  log::info("shutting down: no new connections, finishing requests in flight");
  for (auto& l : listeners_) l.close();  // accept loops run on this thread too
  registry_.closeAll();
  auto deadline = std::chrono::steady_clock::now() + options_.shutdownTimeout;
  net::steady_timer timer(ioContext());
  while (registry_.size() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(net::use_awaitable);
  }
  if (size_t left = registry_.size(); left > 0) {
    log::warn("shutdown timeout reached; closing connections still busy", {{"connections", strCat(left)}});
  }
  for (auto& c : contexts_) c->stop();
}

}  // namespace berth::api::server
