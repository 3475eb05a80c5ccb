#include "api/httputil/async_signal.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace berth::api::httputil {

AsyncSignal::AsyncSignal(net::any_io_executor strand)
    : strand_(strand), state_(std::make_shared<State>(strand)) {}

void AsyncSignal::notify() {
  state_->pending.store(true, std::memory_order_release);
  net::post(strand_, [weak = std::weak_ptr<State>(state_)] {
    if (auto s = weak.lock()) s->timer.cancel();
  });
}

net::awaitable<bool> AsyncSignal::wait(std::optional<std::chrono::steady_clock::time_point> deadline) {
  if (state_->pending.exchange(false, std::memory_order_acq_rel)) co_return true;
  state_->timer.expires_at(deadline.value_or(std::chrono::steady_clock::time_point::max()));
  boost::system::error_code ec;
  co_await state_->timer.async_wait(net::redirect_error(net::use_awaitable, ec));
  co_return state_->pending.exchange(false, std::memory_order_acq_rel);
}

}  // namespace berth::api::httputil
