#include "engine/scheduler.h"

namespace berth::engine {

Scheduler::Scheduler() : thread_([this] { loop(); }) {}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t Scheduler::after(Clock::duration delay, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  uint64_t id = nextId_++;
  queue_.emplace(Clock::now() + delay, id);
  tasks_.emplace(id, std::move(fn));
  cv_.notify_all();
  return id;
}

bool Scheduler::cancel(uint64_t id) {
  std::lock_guard lock(mu_);
  return tasks_.erase(id) > 0;
}

void Scheduler::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = queue_.begin();
    if (first->first > Clock::now()) {
      cv_.wait_until(lock, first->first);
      continue;
    }
    uint64_t id = first->second;
    queue_.erase(first);
    auto it = tasks_.find(id);
    if (it == tasks_.end()) continue;  // cancelled
    std::function<void()> fn = std::move(it->second);
    tasks_.erase(it);
    lock.unlock();
    fn();
    lock.lock();
  }
}

}  // namespace berth::engine
