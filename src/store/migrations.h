#pragma once
// Versioned schema of the state database. Migration N takes the schema from
// version N-1 to N; PRAGMA user_version records the version reached. Append
// new migrations at the end; never edit a released one.
#include <span>
#include <string_view>

namespace berth::store {

struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

std::span<const Migration> migrations();

}  // namespace berth::store
