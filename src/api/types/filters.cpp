#include "api/types/filters.h"

#include "nlohmann/json.hpp"
#include "util/strings.h"
#include "util/timestamp.h"

namespace berth::api::types {

absl::StatusOr<Filters> parseFilters(std::string_view text) {
  Filters out;
  if (text.empty()) return out;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(strCat("invalid filter: invalid JSON in filters: ", text));
  if (!j.is_object()) return absl::InvalidArgumentError("invalid filter: filters must be a JSON object");
  for (const auto& [key, values] : j.items()) {
    auto& set = out[key];
    if (values.is_object()) {
      for (const auto& [v, on] : values.items()) {
        if (!on.is_boolean()) return absl::InvalidArgumentError(strCat("invalid filter: value of '", key, "'"));
        if (on.get<bool>()) set.insert(v);
      }
    } else if (values.is_array()) {
      for (const auto& v : values) {
        if (!v.is_string()) return absl::InvalidArgumentError(strCat("invalid filter: value of '", key, "'"));
        set.insert(v.get<std::string>());
      }
    } else {
      return absl::InvalidArgumentError(strCat("invalid filter: value of '", key, "'"));
    }
  }
  return out;
}

absl::Status validateFilterKeys(const Filters& filters, std::initializer_list<std::string_view> accepted) {
  for (const auto& [key, values] : filters) {
    bool ok = false;
    for (std::string_view a : accepted) ok = ok || a == key;
    if (!ok) return absl::InvalidArgumentError(strCat("invalid filter '", key, "'"));
  }
  return absl::OkStatus();
}

bool filterMatches(const Filters& filters, std::string_view key, std::string_view value) {
  auto it = filters.find(key);
  if (it == filters.end() || it->second.empty()) return true;
  return it->second.contains(std::string(value));
}

absl::StatusOr<std::optional<bool>> boolFilter(const Filters& filters, std::string_view key) {
  std::optional<bool> out;
  auto it = filters.find(key);
  if (it == filters.end()) return out;
  for (const std::string& v : it->second) {
    if (v == "true" || v == "1") {
      out = true;
    } else if (v == "false" || v == "0") {
      out = false;
    } else {
      return absl::InvalidArgumentError(strCat("invalid filter '", key, "=", v, "'"));
    }
  }
  return out;
}

namespace {

bool labelMatches(const std::map<std::string, std::string>& labels, std::string_view filter) {
  auto [key, value] = splitOnce(filter, '=');
  auto it = labels.find(std::string(key));
  return it != labels.end() && (value.data() == nullptr || it->second == value);
}

}  // namespace

bool labelsMatch(const Filters& filters, const std::map<std::string, std::string>& labels) {
  if (auto it = filters.find("label"); it != filters.end()) {
    for (const std::string& l : it->second) {
      if (!labelMatches(labels, l)) return false;
    }
  }
  if (auto it = filters.find("label!"); it != filters.end()) {
    for (const std::string& l : it->second) {
      if (labelMatches(labels, l)) return false;
    }
  }
  return true;
}

absl::StatusOr<std::optional<int64_t>> timeFilter(const Filters& filters, std::string_view key) {
  std::optional<int64_t> out;
  auto it = filters.find(key);
  if (it == filters.end()) return out;
  for (const std::string& v : it->second) {
    absl::StatusOr<SystemTime> t = parseApiTimestamp(v);
    if (!t.ok()) t = parseRfc3339(v);
    if (!t.ok()) return absl::InvalidArgumentError(strCat("invalid filter '", key, "=", v, "'"));
    out = toUnixNanos(*t);
  }
  return out;
}

}  // namespace berth::api::types
