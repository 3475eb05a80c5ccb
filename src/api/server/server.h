#pragma once
// The API server: binds the listeners, runs the I/O threads, and shuts down
// gracefully. Knows nothing of Docker semantics: routes come in a Router.
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
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

  // For signal handling and other daemon-level async work (the first I/O context).
  net::io_context& ioContext() { return *contexts_.front(); }
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
  // Round-robin choice of the context a new connection lives on.
  net::io_context& nextContext() { return *contexts_[nextContext_++ % contexts_.size()]; }

  ServerOptions options_;
  Router router_;
  // One single-threaded io_context per I/O thread: a connection stays on one
  // thread, so its handlers need no strand and no cross-thread hand-off.
  // contexts_[0] also runs the accept loops and signal handling.
  std::vector<std::unique_ptr<net::io_context>> contexts_;
  size_t nextContext_ = 0;  // used from contexts_[0] only
  net::thread_pool blocking_;
  std::optional<net::ssl::context> tls_;
  SessionRegistry registry_;
  std::unique_ptr<SessionContext> sessionContext_;
  std::vector<BoundListener> listeners_;
  std::atomic<bool> stopping_{false};
};

}  // namespace berth::api::server
