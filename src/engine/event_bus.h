#pragma once
// In-memory event bus: a bounded history (for `since`) plus live subscribers.
// Publishers never block on subscribers: sinks must only queue and return.
// Thread-safe.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "api/types/event.h"
#include "api/types/filters.h"
#include "util/timestamp.h"

namespace berth::engine {

class EventBus {
 public:
  using Sink = std::function<void(const api::types::Event&)>;
  // Keeps the most recent `capacity` events (dockerd keeps 256).
  explicit EventBus(size_t capacity = 1024) : capacity_(capacity) {}

  // Stamps the time when the event has none, records it and delivers it.
  void publish(api::types::Event event);
  // The same for an event built from its parts, stamped now.
  void publish(std::string type, std::string action, std::string actor,
               std::map<std::string, std::string> attributes = {});

  // Unsubscribes on destruction. Must not outlive the bus.
  class Subscription {
   public:
    Subscription(EventBus& bus, uint64_t id) : bus_(&bus), id_(id) {}
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

   private:
    EventBus* bus_;
    uint64_t id_;
  };

  // Atomically: the recorded events within [since, until] matching
  // `filters`, oldest first (none when neither bound is given), and (when
  // `subscribe`) a subscription that gets
  // every later matching event. Nothing falls between the two.
  std::pair<std::vector<api::types::Event>, std::unique_ptr<Subscription>> snapshotAndSubscribe(
      std::optional<SystemTime> since, std::optional<SystemTime> until, const api::types::Filters& filters,
      bool subscribe, Sink sink);

  size_t subscriberCount() const;

 private:
  struct Subscriber {
    api::types::Filters filters;
    Sink sink;
  };
  void unsubscribe(uint64_t id);

  const size_t capacity_;
  mutable std::mutex mu_;
  std::deque<api::types::Event> history_;      // guarded by mu_
  std::map<uint64_t, Subscriber> subscribers_;  // guarded by mu_
  uint64_t nextId_ = 1;                         // guarded by mu_
  int64_t lastTime_ = 0;                        // guarded by mu_: keeps timeNano strictly increasing
};

}  // namespace berth::engine
