#pragma once
// What the system routes (/_ping, /version, /info, /events, /system/df) need
// from the engine. Implemented by engine::Engine. All methods are thread-safe;
// info() and diskUsage() may block briefly (database, /proc) and are called
// off the I/O threads.
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "api/types/event.h"
#include "api/types/filters.h"
#include "api/types/system.h"
#include "util/timestamp.h"

namespace berth::api::backend {

struct EventQuery {
  std::optional<SystemTime> since;
  std::optional<SystemTime> until;
  types::Filters filters;
};

// Called for each live event, on the publishing thread: must not block.
using EventSink = std::function<void(const types::Event&)>;

// Holds a live subscription; destroying it unsubscribes.
class EventSubscription {
 public:
  virtual ~EventSubscription() = default;
};
using EventSubscriptionPtr = std::unique_ptr<EventSubscription>;

struct EventStream {
  std::vector<types::Event> past;  // buffered events in [since, until], oldest first
  EventSubscriptionPtr live;       // null when `until` is already past
};

struct DiskUsageQuery {
  // Empty: every type. Otherwise a subset of container, image, volume, build-cache.
  std::vector<std::string> types;
};

class SystemBackend {
 public:
  virtual ~SystemBackend() = default;

  virtual types::SystemVersion version() = 0;
  virtual absl::StatusOr<types::SystemInfo> info() = 0;
  // InvalidArgument for an unknown type.
  virtual absl::StatusOr<types::DiskUsage> diskUsage(const DiskUsageQuery& query) = 0;
  // InvalidArgument for unknown filter keys. The snapshot of past events and
  // the subscription are taken atomically: no event is lost or repeated.
  virtual absl::StatusOr<EventStream> events(const EventQuery& query, EventSink sink) = 0;
};

}  // namespace berth::api::backend
