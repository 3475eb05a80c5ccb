#pragma once
// A Docker event (GET /events, `docker events`): EventMessage in the API spec.
#include <cstdint>
#include <map>
#include <string>

#include "nlohmann/json.hpp"

namespace berth::api::types {

struct Event {
  std::string type;    // container, image, volume, network, daemon, …
  std::string action;  // create, start, reload, …
  std::string actorId;
  std::map<std::string, std::string> attributes;
  std::string scope = "local";
  int64_t timeNano = 0;
};

// The wire shape, including the deprecated status/id/from that API < 1.52
// still carries for container and image events.
nlohmann::ordered_json toJson(const Event& e);

}  // namespace berth::api::types
