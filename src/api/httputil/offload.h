#pragma once
// Runs blocking work (database, /proc, engine calls) on the blocking pool and
// resumes the calling coroutine on its own strand: the I/O threads never block.
#include <type_traits>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "api/httputil/exchange.h"

namespace berth::api::httputil {

template <class F>
net::awaitable<std::invoke_result_t<F&>> offload(Exchange& ex, F f) {
  using R = std::invoke_result_t<F&>;
  co_return co_await net::co_spawn(
      ex.blockingExecutor(), [f = std::move(f)]() mutable -> net::awaitable<R> { co_return f(); }, net::use_awaitable);
}

}  // namespace berth::api::httputil
