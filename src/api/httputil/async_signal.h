#pragma once
// Wakes a coroutine from any thread: the bridge between the engine's
// callbacks (event bus, log followers) and a handler waiting on its strand.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange without it
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

namespace berth::api::httputil {

namespace net = boost::asio;

class AsyncSignal {
 public:
  explicit AsyncSignal(net::any_io_executor strand);

  // Thread-safe. A notify before wait() is remembered, so none is lost.
  void notify();

  // Returns after a notify() or at `deadline`, whichever comes first.
  // Returns true if notified. Call from the strand given at construction.
  net::awaitable<bool> wait(std::optional<std::chrono::steady_clock::time_point> deadline);

 private:
  struct State {
    explicit State(net::any_io_executor ex) : timer(ex) {}
    net::steady_timer timer;
    std::atomic<bool> pending{false};
  };
  net::any_io_executor strand_;
  // Shared with posted wake-ups, which may run after this object is gone.
  std::shared_ptr<State> state_;
};

}  // namespace berth::api::httputil
