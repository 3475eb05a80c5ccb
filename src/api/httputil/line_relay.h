#pragma once
// Relays JSON lines produced on another thread (a pull, push or load) to a
// chunked response. The response opens with the first line, so a job that
// fails before reporting anything is answered with a plain error status, as
// dockerd does; a failure after that becomes dockerd's error line in the
// stream. The job keeps running if the client leaves (its result is kept).
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "api/httputil/async_signal.h"
#include "api/httputil/exchange.h"

namespace berth::api::httputil {

class LineRelay {
 public:
  explicit LineRelay(net::any_io_executor strand) : signal_(strand) {}

  // Thread-safe; called by the job.
  void push(std::string line);
  void finish(absl::Status result);

  // Runs on the exchange's strand until the job finished and every line
  // went out. `errorLine` formats a failure for the stream.
  net::awaitable<absl::Status> relay(Exchange& ex, std::string (*errorLine)(const absl::Status&));

 private:
  std::mutex mu_;
  std::deque<std::string> lines_;  // guarded by mu_
  bool done_ = false;              // guarded by mu_
  absl::Status result_;            // guarded by mu_
  AsyncSignal signal_;
};

}  // namespace berth::api::httputil
