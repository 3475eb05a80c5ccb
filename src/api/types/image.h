#pragma once
// DTOs of the image area: GET /images/json (ImageSummary), GET
// /images/{name}/json (ImageInspect), /history, DELETE and prune answers,
// and the JSON-lines progress of pull, push and load.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace berth::api::types {

struct ImageSummary {
  std::string id;
  std::string parentId;
  std::vector<std::string> repoTags;
  std::vector<std::string> repoDigests;
  int64_t created = 0;  // unix seconds
  int64_t size = 0;
  int64_t containers = -1;  // -1: not computed, as dockerd
  int64_t sharedSize = -1;  // -1: not computed
  std::map<std::string, std::string> labels;
};
nlohmann::ordered_json toJson(const ImageSummary& s);

struct ImageInspect {
  std::string id;
  std::vector<std::string> repoTags;
  std::vector<std::string> repoDigests;
  std::string parent;
  std::string comment;
  std::string created;  // RFC 3339, from the config
  std::string author;
  nlohmann::json config = nlohmann::json::object();  // the image config's "config"
  std::string architecture, variant, os, osVersion;
  int64_t size = 0;
  std::string graphDriver;
  std::map<std::string, std::string> graphDriverData;
  std::vector<std::string> layers;  // diff ids
  std::string lastTagTime;          // RFC 3339, "" when never tagged
  std::string manifestDigest;       // Descriptor of the manifest, when pulled
  std::string manifestMediaType;
  int64_t manifestSize = 0;
};
nlohmann::ordered_json toJson(const ImageInspect& i);

struct ImageHistoryItem {
  std::string id;  // image id for the top entry, "<missing>" below
  int64_t created = 0;
  std::string createdBy;
  std::vector<std::string> tags;
  int64_t size = 0;
  std::string comment;
};
nlohmann::ordered_json toJson(const ImageHistoryItem& h);

// One entry of DELETE /images/{name} and of prune's ImagesDeleted.
struct ImageDeleteItem {
  std::string untagged;
  std::string deleted;
};
nlohmann::ordered_json toJson(const ImageDeleteItem& d);

struct ImagePruneReport {
  std::vector<ImageDeleteItem> deleted;
  int64_t spaceReclaimed = 0;
};
nlohmann::ordered_json toJson(const ImagePruneReport& r);

struct DistributionPlatform {
  std::string architecture, os, osVersion, variant;
};
struct DistributionInspect {
  std::string mediaType, digest;
  int64_t size = 0;
  std::vector<DistributionPlatform> platforms;
};
nlohmann::ordered_json toJson(const DistributionInspect& d);

// A progress line: {"status", "progressDetail", "progress", "id"}.
struct ProgressLine {
  std::string id;
  std::string status;
  int64_t current = -1;  // progressDetail and the bar when >= 0
  int64_t total = -1;
};
nlohmann::ordered_json toJson(const ProgressLine& p);
// dockerd's error line inside a 200 stream: {"errorDetail":{"message"},"error"}.
nlohmann::ordered_json progressError(std::string_view message);

// "12.3MB": Docker's decimal human size (4 significant digits).
std::string humanSize(double bytes);

}  // namespace berth::api::types
