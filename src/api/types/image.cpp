#include "api/types/image.h"

#include <cstdio>

namespace berth::api::types {
namespace {

nlohmann::ordered_json stringsOrEmpty(const std::vector<std::string>& v) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const std::string& s : v) a.push_back(s);
  return a;
}

}  // namespace

nlohmann::ordered_json toJson(const ImageSummary& s) {
  nlohmann::ordered_json j;
  j["Containers"] = s.containers;
  j["Created"] = s.created;
  j["Id"] = s.id;
  nlohmann::ordered_json labels = nlohmann::ordered_json::object();
  for (const auto& [k, v] : s.labels) labels[k] = v;
  j["Labels"] = labels;
  j["ParentId"] = s.parentId;
  j["RepoDigests"] = stringsOrEmpty(s.repoDigests);
  j["RepoTags"] = stringsOrEmpty(s.repoTags);
  j["SharedSize"] = s.sharedSize;
  j["Size"] = s.size;
  return j;
}

nlohmann::ordered_json toJson(const ImageInspect& i) {
  nlohmann::ordered_json j;
  j["Id"] = i.id;
  j["RepoTags"] = stringsOrEmpty(i.repoTags);
  j["RepoDigests"] = stringsOrEmpty(i.repoDigests);
  j["Parent"] = i.parent;
  j["Comment"] = i.comment;
  if (!i.created.empty()) j["Created"] = i.created;
  j["DockerVersion"] = "";
  j["Author"] = i.author;
  j["Config"] = i.config;
  j["Architecture"] = i.architecture;
  if (!i.variant.empty()) j["Variant"] = i.variant;
  j["Os"] = i.os;
  if (!i.osVersion.empty()) j["OsVersion"] = i.osVersion;
  j["Size"] = i.size;
  nlohmann::ordered_json data = nlohmann::ordered_json::object();
  for (const auto& [k, v] : i.graphDriverData) data[k] = v;
  j["GraphDriver"] = {{"Data", data}, {"Name", i.graphDriver}};
  j["RootFS"] = {{"Type", "layers"}, {"Layers", stringsOrEmpty(i.layers)}};
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  if (!i.lastTagTime.empty()) meta["LastTagTime"] = i.lastTagTime;
  j["Metadata"] = meta;
  if (!i.manifestDigest.empty()) {
    j["Descriptor"] = {{"mediaType", i.manifestMediaType}, {"digest", i.manifestDigest}, {"size", i.manifestSize}};
  }
  return j;
}

nlohmann::ordered_json toJson(const ImageHistoryItem& h) {
  nlohmann::ordered_json j;
  j["Comment"] = h.comment;
  j["Created"] = h.created;
  j["CreatedBy"] = h.createdBy;
  j["Id"] = h.id;
  j["Size"] = h.size;
  j["Tags"] = h.tags.empty() ? nlohmann::ordered_json(nullptr) : stringsOrEmpty(h.tags);
  return j;
}

nlohmann::ordered_json toJson(const ImageDeleteItem& d) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!d.untagged.empty()) j["Untagged"] = d.untagged;
  if (!d.deleted.empty()) j["Deleted"] = d.deleted;
  return j;
}

nlohmann::ordered_json toJson(const ImagePruneReport& r) {
  nlohmann::ordered_json j;
  if (r.deleted.empty()) {
    j["ImagesDeleted"] = nullptr;
  } else {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (const ImageDeleteItem& d : r.deleted) a.push_back(toJson(d));
    j["ImagesDeleted"] = a;
  }
  j["SpaceReclaimed"] = r.spaceReclaimed;
  return j;
}

nlohmann::ordered_json toJson(const DistributionInspect& d) {
  nlohmann::ordered_json j;
  j["Descriptor"] = {{"mediaType", d.mediaType}, {"digest", d.digest}, {"size", d.size}};
  nlohmann::ordered_json platforms = nlohmann::ordered_json::array();
  for (const DistributionPlatform& p : d.platforms) {
    nlohmann::ordered_json pj;
    pj["architecture"] = p.architecture;
    pj["os"] = p.os;
    if (!p.osVersion.empty()) pj["os.version"] = p.osVersion;
    if (!p.variant.empty()) pj["variant"] = p.variant;
    platforms.push_back(pj);
  }
  j["Platforms"] = platforms;
  return j;
}

std::string humanSize(double bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (bytes >= 1000 && u < 5) {
    bytes /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g%s", bytes, kUnits[u]);
  return buf;
}

nlohmann::ordered_json toJson(const ProgressLine& p) {
  nlohmann::ordered_json j;
  j["status"] = p.status;
  if (p.current >= 0) {
    nlohmann::ordered_json detail = {{"current", p.current}};
    if (p.total > 0) detail["total"] = p.total;
    j["progressDetail"] = detail;
    std::string bar;
    if (p.total > 0) {
      constexpr int kWidth = 50;
      int filled = int(double(std::min(p.current, p.total)) * kWidth / double(p.total));
      bar = "[" + std::string(filled, '=') + (filled < kWidth ? ">" : "") +
            std::string(kWidth - filled - (filled < kWidth ? 1 : 0), ' ') + "] ";
      bar += humanSize(double(p.current)) + "/" + humanSize(double(p.total));
    } else {
      bar = humanSize(double(p.current));
    }
    j["progress"] = bar;
  } else if (!p.id.empty()) {
    j["progressDetail"] = nlohmann::ordered_json::object();
  }
  if (!p.id.empty()) j["id"] = p.id;
  return j;
}

nlohmann::ordered_json progressError(std::string_view message) {
  nlohmann::ordered_json j;
  j["errorDetail"] = {{"message", message}};
  j["error"] = message;
  return j;
}

}  // namespace berth::api::types
