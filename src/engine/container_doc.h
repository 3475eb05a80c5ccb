#pragma once
// Small readers of a container's record (Docker's inspect document), shared
// by the files of ContainerService.
#include <map>
#include <string>
#include <string_view>
#include <utility>
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

// One HostConfig.Links entry as the CLI sends it ("name:alias", "name") or
// as dockerd records it ("/name:/me/alias"): the linked container's name and
// the alias (the name when none is given). Views into `link`.
inline std::pair<std::string_view, std::string_view> parseLink(std::string_view link) {
  size_t colon = link.find(':');
  std::string_view target = link.substr(0, colon);
  std::string_view alias = colon == std::string_view::npos ? target : link.substr(colon + 1);
  if (target.starts_with('/')) target.remove_prefix(1);
  if (alias.empty()) alias = target;
  if (size_t slash = alias.rfind('/'); slash != std::string_view::npos) alias.remove_prefix(slash + 1);
  return {target, alias};
}

// runc's exit codes for a process that could not start: 127 when the
// program is not there, 126 when it may not run, else `otherwise`.
int startErrorExitCode(std::string_view message, int otherwise);
// Config.Labels.
std::map<std::string, std::string> labelsOf(const nlohmann::ordered_json& doc);

}  // namespace berth::engine
