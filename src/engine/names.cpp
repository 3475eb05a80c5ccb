#include "engine/names.h"

#include <array>
#include <random>

#include "util/strings.h"

namespace berth::engine {
namespace {

constexpr std::array<std::string_view, 40> kAdjectives = {
    "able",   "amber",  "ample",  "bold",    "brave",  "breezy", "bright", "brisk",  "calm",   "clever",
    "cosy",   "crisp",  "daring", "deft",    "eager",  "even",   "fair",   "fleet",  "gentle", "glad",
    "hardy",  "honest", "jolly",  "keen",    "kind",   "lively", "lucky",  "merry",  "nimble", "patient",
    "proud",  "quick",  "quiet",  "rapid",   "sharp",  "steady", "sturdy", "swift",  "tidy",   "wise",
};

constexpr std::array<std::string_view, 40> kNouns = {
    "anchor",  "atoll",   "bay",      "beacon",  "bollard", "bow",     "buoy",    "cabin",   "cargo",   "compass",
    "cove",    "crane",   "current",  "deck",    "dock",    "estuary", "ferry",   "fjord",   "galley",  "gangway",
    "harbor",  "hawser",  "helm",     "hull",    "inlet",   "jetty",   "keel",    "lagoon",  "lantern", "lighthouse",
    "mast",    "mooring", "pier",     "pilot",   "quay",    "rudder",  "sail",    "schooner", "tide",   "wharf",
};

bool nameChar(char c, bool first) {
  bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  return first ? alnum : alnum || c == '_' || c == '.' || c == '-';
}

}  // namespace

bool isValidContainerName(std::string_view name) {
  if (name.starts_with('/')) name.remove_prefix(1);
  if (name.size() < 2) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!nameChar(name[i], i == 0)) return false;
  }
  return true;
}

std::string generateContainerName(int retry) {
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> a(0, kAdjectives.size() - 1), n(0, kNouns.size() - 1);
  std::string name = strCat(kAdjectives[a(rng)], "_", kNouns[n(rng)]);
  if (retry > 0) name += std::to_string(std::uniform_int_distribution<int>(0, 9)(rng));
  return name;
}

}  // namespace berth::engine
