#pragma once
// The `filters` query parameter of list and events endpoints: a JSON object
// mapping a filter name to its values (moby's filters.Args).
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace berth::api::types {

using Filters = std::map<std::string, std::set<std::string>, std::less<>>;

// Accepts both encodings clients send: {"type":{"container":true}} (current)
// and {"type":["container"]} (API < 1.22, still sent by some clients).
// The empty string means no filters. Bad JSON or shapes are InvalidArgument.
absl::StatusOr<Filters> parseFilters(std::string_view json);

// InvalidArgument "invalid filter 'x'" for a key not in `accepted`.
absl::Status validateFilterKeys(const Filters& filters, std::initializer_list<std::string_view> accepted);

// True if `key` is absent or one of its values equals `value`.
bool filterMatches(const Filters& filters, std::string_view key, std::string_view value);

// A boolean filter ("dangling=true"): nullopt when absent; InvalidArgument
// "invalid filter 'key=value'" for a value other than true/false/1/0.
absl::StatusOr<std::optional<bool>> boolFilter(const Filters& filters, std::string_view key);

// The string members of a JSON object (an object's labels) as labelsMatch
// takes them; anything that is not an object gives an empty map.
template <class Json>
std::map<std::string, std::string> stringMap(const Json& object) {
  std::map<std::string, std::string> out;
  if (!object.is_object()) return out;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it->is_string()) out[it.key()] = it->template get<std::string>();
  }
  return out;
}

// The `label` (every value must match) and `label!` (none may) filters
// against an object's labels; a value is "key" or "key=value".
bool labelsMatch(const Filters& filters, const std::map<std::string, std::string>& labels);

// A time filter ("until=…") as unix nanoseconds: SECONDS[.NANOS] as the
// CLI sends it, or RFC 3339. nullopt when absent.
absl::StatusOr<std::optional<int64_t>> timeFilter(const Filters& filters, std::string_view key);

}  // namespace berth::api::types
