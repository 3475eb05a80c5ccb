#pragma once
// Which events a `filters` argument selects (dockerd's events filter).
#include "absl/status/status.h"
#include "api/types/event.h"
#include "api/types/filters.h"

namespace berth::engine {

// InvalidArgument "invalid filter 'x'" for keys /events does not know.
absl::Status validateEventFilters(const api::types::Filters& filters);

// Every filter key present must match (keys are ANDed, values of one key ORed).
// Object filters (container=, image=, network=, …) match the actor's ID, an
// ID prefix, or its "name" attribute; label= matches "key" or "key=value".
bool eventMatches(const api::types::Filters& filters, const api::types::Event& event);

}  // namespace berth::engine
