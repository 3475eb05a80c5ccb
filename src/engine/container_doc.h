#pragma once
// Small readers of a container's record (Docker's inspect document), shared
// by the files of ContainerService.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"

namespace berth::engine {

inline constexpr std::string_view kZeroTime = "0001-01-01T00:00:00Z";

// A JSON string or array of strings as a list (other values: empty).
std::vector<std::string> stringList(const nlohmann::ordered_json& j);
// Config.Labels.
std::map<std::string, std::string> labelsOf(const nlohmann::ordered_json& doc);

}  // namespace berth::engine
