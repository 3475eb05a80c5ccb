#include "api/types/event.h"

namespace berth::api::types {

nlohmann::ordered_json toJson(const Event& e) {
  nlohmann::ordered_json j;
  if (e.type == "container" || e.type == "image") {
    j["status"] = e.action;
    j["id"] = e.actorId;
    if (auto it = e.attributes.find("image"); it != e.attributes.end()) j["from"] = it->second;
  }
  j["Type"] = e.type;
  j["Action"] = e.action;
  j["Actor"] = {{"ID", e.actorId}, {"Attributes", e.attributes}};
  j["scope"] = e.scope;
  j["time"] = e.timeNano / 1'000'000'000;
  j["timeNano"] = e.timeNano;
  return j;
}

}  // namespace berth::api::types
