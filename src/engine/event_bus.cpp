#include "engine/event_bus.h"

#include "engine/event_filter.h"

namespace berth::engine {

EventBus::Subscription::~Subscription() { bus_->unsubscribe(id_); }

void EventBus::publish(std::string type, std::string action, std::string actor,
                       std::map<std::string, std::string> attributes) {
  api::types::Event e;
  e.type = std::move(type);
  e.action = std::move(action);
  e.actorId = std::move(actor);
  e.attributes = std::move(attributes);
  publish(std::move(e));
}

void EventBus::publish(api::types::Event event) {
  std::lock_guard lock(mu_);
  if (event.timeNano == 0) event.timeNano = toUnixNanos(nowSystem());
  // Strictly increasing times keep since/until windows exact.
  if (event.timeNano <= lastTime_) event.timeNano = lastTime_ + 1;
  lastTime_ = event.timeNano;
  history_.push_back(event);
  if (history_.size() > capacity_) history_.pop_front();
  // Sinks only queue, so delivering under the lock is cheap and keeps order.
  for (auto& [id, sub] : subscribers_) {
    if (eventMatches(sub.filters, event)) sub.sink(event);
  }
}

std::pair<std::vector<api::types::Event>, std::unique_ptr<EventBus::Subscription>> EventBus::snapshotAndSubscribe(
    std::optional<SystemTime> since, std::optional<SystemTime> until, const api::types::Filters& filters,
    bool subscribe, Sink sink) {
  std::lock_guard lock(mu_);
  std::vector<api::types::Event> past;
  // As dockerd: history is replayed when either bound is given; a missing
  // `since` means from the oldest event kept.
  if (since || until) {
    int64_t from = since ? toUnixNanos(*since) : INT64_MIN;
    int64_t to = until ? toUnixNanos(*until) : INT64_MAX;
    for (const auto& e : history_) {
      if (e.timeNano >= from && e.timeNano <= to && eventMatches(filters, e)) past.push_back(e);
    }
  }
  std::unique_ptr<Subscription> sub;
  if (subscribe) {
    uint64_t id = nextId_++;
    subscribers_.emplace(id, Subscriber{filters, std::move(sink)});
    sub = std::make_unique<Subscription>(*this, id);
  }
  return {std::move(past), std::move(sub)};
}

size_t EventBus::subscriberCount() const {
  std::lock_guard lock(mu_);
  return subscribers_.size();
}

void EventBus::unsubscribe(uint64_t id) {
  std::lock_guard lock(mu_);
  subscribers_.erase(id);
}

}  // namespace berth::engine
