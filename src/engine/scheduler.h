#pragma once
// Runs callbacks later, on one thread of its own: stop timeouts (SIGKILL
// after StopTimeout), restart back-off, healthcheck intervals. Callbacks
// must be short or hand their work on.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace berth::engine {

class Scheduler {
 public:
  Scheduler();
  ~Scheduler();  // drops what has not run yet

  using Clock = std::chrono::steady_clock;
  // Returns an id for cancel().
  uint64_t after(Clock::duration delay, std::function<void()> fn);
  // Whether it was still pending (and now never runs).
  bool cancel(uint64_t id);

 private:
  void loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<Clock::time_point, uint64_t> queue_;        // guarded by mu_
  std::map<uint64_t, std::function<void()>> tasks_;          // guarded by mu_
  uint64_t nextId_ = 1;                                      // guarded by mu_
  bool stopping_ = false;                                    // guarded by mu_
  std::thread thread_;
};

}  // namespace berth::engine
