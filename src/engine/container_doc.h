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

// A JSON string or array of strings as a list (other values: empty), as
// Docker's strslice reads Cmd, Entrypoint and the like.
template <class Json>
std::vector<std::string> stringList(const Json& j) {
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& e : j) {
      if (e.is_string()) out.push_back(e.template get<std::string>());
    }
  } else if (j.is_string()) {
    out.push_back(j.template get<std::string>());
  }
  return out;
}

// runc's exit codes for a process that could not start: 127 when the
// program is not there, 126 when it may not run, else `otherwise`.
int startErrorExitCode(std::string_view message, int otherwise);
// Config.Labels.
std::map<std::string, std::string> labelsOf(const nlohmann::ordered_json& doc);

}  // namespace berth::engine
