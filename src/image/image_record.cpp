#include "image/image_record.h"

#include "util/digest.h"
#include "util/strings.h"
#include "util/timestamp.h"

namespace berth::image {

int64_t ImageRecord::size() const {
  int64_t total = 0;
  for (const LayerRecord& l : layers) total += layerSize(l);
  return total;
}

std::string ImageRecord::createdText() const {
  auto it = config.find("created");
  return (it != config.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

int64_t ImageRecord::createdUnix() const {
  std::string text = createdText();
  if (text.empty()) return 0;
  absl::StatusOr<SystemTime> t = parseRfc3339(text);
  if (!t.ok()) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
}

nlohmann::json ImageRecord::toJson() const {
  nlohmann::json ls = nlohmann::json::array();
  for (const LayerRecord& l : layers) {
    ls.push_back({{"digest", l.digest},
                  {"mediaType", l.mediaType},
                  {"size", l.size},
                  {"diffId", l.diffId},
                  {"chainId", l.chainId},
                  {"unpackedSize", l.unpackedSize}});
  }
  nlohmann::json j = {{"id", id},
                      {"config", config},
                      {"layers", ls},
                      {"manifestDigest", manifestDigest},
                      {"manifestMediaType", manifestMediaType},
                      {"parent", parent},
                      {"lastTagTime", lastTagTime}};
  if (layersRemote) j["layersRemote"] = true;
  return j;
}

absl::StatusOr<ImageRecord> ImageRecord::fromJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return absl::DataLossError("image record is not a JSON object");
  try {
    ImageRecord r;
    r.id = j.at("id").get<std::string>();
    r.config = j.at("config");
    for (const nlohmann::json& l : j.at("layers")) {
      r.layers.push_back({l.at("digest").get<std::string>(), l.at("mediaType").get<std::string>(),
                          l.at("size").get<int64_t>(), l.at("diffId").get<std::string>(),
                          l.at("chainId").get<std::string>(), l.at("unpackedSize").get<int64_t>()});
    }
    r.manifestDigest = j.value("manifestDigest", "");
    r.manifestMediaType = j.value("manifestMediaType", "");
    r.parent = j.value("parent", "");
    r.lastTagTime = j.value("lastTagTime", int64_t(0));
    r.layersRemote = j.value("layersRemote", false);
    return r;
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(strCat("image record: ", e.what()));
  }
}

std::vector<std::string> chainIds(const std::vector<std::string>& diffIds) {
  std::vector<std::string> out;
  for (const std::string& d : diffIds) {
    out.push_back(out.empty() ? d : sha256Digest(strCat(out.back(), " ", d)));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> configDiffIds(const nlohmann::json& config) {
  if (!config.is_object()) return absl::InvalidArgumentError("image config is not a JSON object");
  auto rootfs = config.find("rootfs");
  if (rootfs == config.end() || !rootfs->is_object() || rootfs->value("type", "") != "layers") {
    return absl::InvalidArgumentError("image config has no rootfs of type layers");
  }
  auto ids = rootfs->find("diff_ids");
  std::vector<std::string> out;
  if (ids == rootfs->end()) return out;
  if (!ids->is_array()) return absl::InvalidArgumentError("image config rootfs.diff_ids is not an array");
  for (const nlohmann::json& d : *ids) {
    if (!d.is_string() || !sha256Hex(d.get<std::string>()).ok()) {
      return absl::InvalidArgumentError("image config has a malformed diff id");
    }
    out.push_back(d.get<std::string>());
  }
  return out;
}

}  // namespace berth::image
