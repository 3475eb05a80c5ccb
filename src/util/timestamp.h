#pragma once
#include <chrono>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace berth {

using SystemTime = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;

// Parses the API's timestamp form "SECONDS[.NANOSECONDS]" (what the docker CLI
// sends for --since/--until after converting durations and RFC 3339 itself).
// Negative seconds are allowed; anything else is InvalidArgument.
absl::StatusOr<SystemTime> parseApiTimestamp(std::string_view text);

int64_t toUnixNanos(SystemTime t);
SystemTime fromUnixNanos(int64_t ns);
SystemTime nowSystem();

// RFC 3339 with nanoseconds in UTC, as Go formats time.Time in JSON
// ("2026-11-22T16:49:01.123456789Z").
std::string formatRfc3339Nano(SystemTime t);

// Parses RFC 3339 ("2026-11-22T16:49:01Z", fractions up to nanoseconds,
// "Z" or a ±hh:mm offset), as image configs carry it.
absl::StatusOr<SystemTime> parseRfc3339(std::string_view text);

}  // namespace berth
