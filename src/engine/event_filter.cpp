#include "engine/event_filter.h"

#include "util/strings.h"

namespace berth::engine {
namespace {

using api::types::Event;
using api::types::Filters;

constexpr std::string_view kObjectFilters[] = {"config", "container", "daemon",  "network", "node",
                                               "plugin", "secret",    "service", "volume"};

// A filter value matches an actor by exact ID, ID prefix, or name.
bool actorMatches(const Filters& filters, std::string_view key, const Event& e) {
  auto it = filters.find(key);
  if (it == filters.end() || it->second.empty()) return true;
  auto name = e.attributes.find("name");
  for (const std::string& v : it->second) {
    if (v == e.actorId || (!v.empty() && e.actorId.starts_with(v))) return true;
    if (name != e.attributes.end() && name->second == v) return true;
  }
  return false;
}

bool imageMatches(const Filters& filters, const Event& e) {
  auto it = filters.find("image");
  if (it == filters.end() || it->second.empty()) return true;
  std::string_view image;
  if (e.type == "image") {
    image = e.actorId;
  } else if (auto a = e.attributes.find("image"); a != e.attributes.end()) {
    image = a->second;
  }
  auto name = e.attributes.find("name");
  for (const std::string& v : it->second) {
    if (!image.empty() && (v == image || image.starts_with(v))) return true;
    if (e.type == "image" && name != e.attributes.end() && name->second == v) return true;
  }
  return false;
}

bool labelMatches(const Filters& filters, const Event& e) {
  auto it = filters.find("label");
  if (it == filters.end() || it->second.empty()) return true;
  // Every label filter must hold (dockerd ANDs label values).
  for (const std::string& v : it->second) {
    auto kv = splitOnce(v, '=');
    auto a = e.attributes.find(std::string(kv.first));
    if (a == e.attributes.end()) return false;
    if (v.find('=') != std::string::npos && a->second != kv.second) return false;
  }
  return true;
}

bool eventActionMatches(const Filters& filters, const Event& e) {
  auto it = filters.find("event");
  if (it == filters.end() || it->second.empty()) return true;
  // "exec_start: sh -c …" matches event=exec_start.
  std::string_view base = std::string_view(e.action).substr(0, e.action.find(':'));
  return it->second.contains(e.action) || it->second.contains(std::string(base));
}

}  // namespace

absl::Status validateEventFilters(const Filters& filters) {
  return api::types::validateFilterKeys(filters, {"config", "container", "daemon", "event", "image", "label", "network",
                                                  "node", "plugin", "scope", "secret", "service", "type", "volume"});
}

bool eventMatches(const Filters& filters, const Event& e) {
  if (!api::types::filterMatches(filters, "type", e.type)) return false;
  if (!api::types::filterMatches(filters, "scope", e.scope)) return false;
  if (!eventActionMatches(filters, e)) return false;
  for (std::string_view key : kObjectFilters) {
    // An object filter selects only events about that kind of object.
    if (filters.contains(key) && (e.type != key || !actorMatches(filters, key, e))) return false;
  }
  return imageMatches(filters, e) && labelMatches(filters, e);
}

}  // namespace berth::engine
