#pragma once
// Query strings: percent-decoding, repeated keys, and dockerd's reading of
// booleans and integers.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::api::httputil {

class Query {
 public:
  Query() = default;
  // Parses "a=1&b=x%20y&a=2". Malformed percent escapes are InvalidArgument.
  static absl::StatusOr<Query> parse(std::string_view raw);

  // First value of `key`, or nullopt when absent.
  std::optional<std::string_view> get(std::string_view key) const;
  std::string_view getOr(std::string_view key, std::string_view fallback) const;
  std::vector<std::string_view> all(std::string_view key) const;
  bool has(std::string_view key) const { return get(key).has_value(); }

  // dockerd's BoolValue: absent, "", "0", "no", "false", "none" are false.
  bool boolValue(std::string_view key) const;
  // InvalidArgument naming the key when present but not an integer.
  absl::StatusOr<std::optional<int64_t>> intValue(std::string_view key) const;

 private:
  std::multimap<std::string, std::string, std::less<>> values_;
};

// Decodes %XX escapes (and '+' as space when `plusIsSpace`).
absl::StatusOr<std::string> percentDecode(std::string_view in, bool plusIsSpace);

}  // namespace berth::api::httputil
