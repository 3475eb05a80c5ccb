#pragma once
// The API server: binds the listeners, runs the I/O threads, and shuts down
// gracefully. Knows nothing of Docker semantics: routes come in a Router.
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "absl/status/statusor.h"
#include "api/server/http_session.h"
#include "api/server/listeners.h"
#include "api/server/router.h"
#include "api/server/server_options.h"

namespace berth::api::server {

class Server {
 public:
  // Loads TLS material and binds every listener: all start-up errors surface here.
  static absl::StatusOr<std::unique_ptr<Server>> create(ServerOptions options, Router router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // For signal handling and other daemon-level async work.
  net::io_context& ioContext() { return ioc_; }
  net::any_io_executor blockingExecutor() { return blocking_.get_executor(); }
  std::vector<std::string> addresses() const;

  // Serves until shutdown() has finished. Blocks the calling thread, which
  // becomes one of the I/O threads.
  void run();

  // Stops accepting, closes idle connections, lets in-flight requests finish
  // for up to the shutdown timeout, then stops. Thread-safe, idempotent.
  void shutdown();

 private:
  Server(ServerOptions options, Router router);
  net::awaitable<void> acceptLoop(BoundListener& listener);
  net::awaitable<void> drainAndStop();

  ServerOptions options_;
  Router router_;
  net::io_context ioc_;
  net::thread_pool blocking_;
  std::optional<net::ssl::context> tls_;
  SessionRegistry registry_;
  std::unique_ptr<SessionContext> sessionContext_;
  std::vector<BoundListener> listeners_;
  std::vector<net::strand<net::io_context::executor_type>> acceptStrands_;  // one per listener
  std::atomic<bool> stopping_{false};
};

}  // namespace berth::api::server
