#include "api/httputil/line_relay.h"

namespace berth::api::httputil {

void LineRelay::push(std::string line) {
  {
    std::lock_guard lock(mu_);
    lines_.push_back(std::move(line));
  }
  signal_.notify();
}

void LineRelay::finish(absl::Status result) {
  {
    std::lock_guard lock(mu_);
    done_ = true;
    result_ = std::move(result);
  }
  signal_.notify();
}

net::awaitable<absl::Status> LineRelay::relay(Exchange& ex, std::string (*errorLine)(const absl::Status&)) {
  bool opened = false;
  bool clientGone = false;
  for (;;) {
    std::deque<std::string> batch;
    bool done = false;
    absl::Status result;
    {
      std::lock_guard lock(mu_);
      batch.swap(lines_);
      done = done_;
      result = result_;
    }
    if (!batch.empty() && !opened && !clientGone) {
      absl::Status st = co_await ex.openStream(200, "application/json");
      if (!st.ok()) clientGone = true;
      opened = true;
    }
    if (!clientGone) {
      // One write per batch: many small progress lines, few syscalls.
      std::string out;
      for (std::string& line : batch) out += line;
      if (!out.empty() && !(co_await ex.write(out)).ok()) clientGone = true;
    }
    if (done) {
      if (!result.ok() && !opened) co_return result;
      if (!result.ok() && !clientGone) (void)co_await ex.write(errorLine(result));
      co_return absl::OkStatus();
    }
    co_await signal_.wait(std::nullopt);
  }
}

}  // namespace berth::api::httputil
