#include "oci/manifest.h"

#include "nlohmann/json.hpp"
#include "util/digest.h"
#include "util/strings.h"

namespace berth::oci {
namespace {

using nlohmann::json;

absl::Status bad(std::string_view what) { return absl::InvalidArgumentError(strCat("invalid manifest: ", what)); }

absl::StatusOr<std::map<std::string, std::string>> stringMap(const json& j, std::string_view field) {
  std::map<std::string, std::string> out;
  if (!j.contains(field) || j[std::string(field)].is_null()) return out;
  const json& m = j[std::string(field)];
  if (!m.is_object()) return bad(strCat(field, " must be an object"));
  for (const auto& [k, v] : m.items()) {
    if (!v.is_string()) return bad(strCat(field, " values must be strings"));
    out[k] = v.get<std::string>();
  }
  return out;
}

absl::StatusOr<Descriptor> descriptor(const json& j, std::string_view where) {
  if (!j.is_object()) return bad(strCat(where, " must be an object"));
  Descriptor d;
  if (!j.contains("mediaType") || !j["mediaType"].is_string()) return bad(strCat(where, ": mediaType missing"));
  d.mediaType = j["mediaType"].get<std::string>();
  if (!j.contains("digest") || !j["digest"].is_string()) return bad(strCat(where, ": digest missing"));
  d.digest = j["digest"].get<std::string>();
  if (!sha256Hex(d.digest).ok()) return bad(strCat(where, ": unsupported digest ", d.digest));
  if (!j.contains("size") || !j["size"].is_number_integer() || j["size"].get<int64_t>() < 0) {
    return bad(strCat(where, ": size must be a non-negative integer"));
  }
  d.size = j["size"].get<int64_t>();
  auto annotations = stringMap(j, "annotations");
  if (!annotations.ok()) return annotations.status();
  d.annotations = std::move(*annotations);
  if (j.contains("urls") && j["urls"].is_array()) {
    for (const json& u : j["urls"]) {
      if (u.is_string()) d.urls.push_back(u.get<std::string>());
    }
  }
  if (j.contains("platform") && j["platform"].is_object()) {
    const json& p = j["platform"];
    Platform platform;
    if (!p.contains("os") || !p["os"].is_string() || !p.contains("architecture") || !p["architecture"].is_string()) {
      return bad(strCat(where, ": platform needs os and architecture"));
    }
    platform.os = p["os"].get<std::string>();
    platform.architecture = p["architecture"].get<std::string>();
    if (p.contains("variant") && p["variant"].is_string()) platform.variant = p["variant"].get<std::string>();
    if (p.contains("os.version") && p["os.version"].is_string()) platform.osVersion = p["os.version"].get<std::string>();
    d.platform = std::move(platform);
  }
  return d;
}

// Every element of a descriptor array, named "field[i]" in errors.
absl::StatusOr<std::vector<Descriptor>> descriptors(const json& array, std::string_view field) {
  std::vector<Descriptor> out;
  for (const json& element : array) {
    auto d = descriptor(element, strCat(field, "[", out.size(), "]"));
    if (!d.ok()) return d.status();
    out.push_back(std::move(*d));
  }
  return out;
}

}  // namespace

std::string manifestAcceptHeader() {
  return strCat(kOciIndex, ", ", kDockerManifestList, ", ", kOciManifest, ", ", kDockerManifest);
}

absl::StatusOr<Compression> layerCompression(std::string_view mediaType) {
  if (mediaType == kDockerLayerGzip || mediaType == kOciLayerGzip) return Compression::Gzip;
  if (mediaType == kOciLayerZstd) return Compression::Zstd;
  if (mediaType == kOciLayer || mediaType == kDockerLayer) return Compression::None;
  return absl::InvalidArgumentError(strCat("unsupported layer media type ", mediaType));
}

std::string_view layerMediaType(Compression compression) {
  switch (compression) {
    case Compression::Gzip: return kDockerLayerGzip;
    case Compression::Zstd: return kOciLayerZstd;
    case Compression::None: break;
  }
  return kDockerLayer;
}

absl::StatusOr<ManifestDocument> parseManifest(std::string_view body, std::string_view contentType) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  std::string_view ct = trim(contentType.substr(0, contentType.find(';')));
  std::string mediaType = j.contains("mediaType") && j["mediaType"].is_string() ? j["mediaType"].get<std::string>() : "";
  if (ct == kDockerSchema1 || ct == kDockerSchema1Signed ||
      (j.contains("schemaVersion") && j["schemaVersion"] == 1)) {
    return absl::InvalidArgumentError(
        "Docker Image manifest version 2, schema 1 is not supported: the image must be republished as "
        "schema 2 or OCI");
  }
  if (!j.contains("schemaVersion") || j["schemaVersion"] != 2) return bad("schemaVersion must be 2");
  // The Content-Type names the kind; when it is generic, the body does.
  std::string_view kind = ct;
  if (kind != kDockerManifest && kind != kDockerManifestList && kind != kOciManifest && kind != kOciIndex) {
    kind = mediaType;
    if (kind.empty()) kind = j.contains("manifests") ? kOciIndex : kOciManifest;
  }
  if (!mediaType.empty() && mediaType != kind) {
    return bad(strCat("mediaType ", mediaType, " does not match the content type ", kind));
  }
  ManifestDocument doc;
  if (kind == kDockerManifestList || kind == kOciIndex) {
    doc.isIndex = true;
    doc.index.mediaType = std::string(kind);
    if (!j.contains("manifests") || !j["manifests"].is_array()) return bad("index without manifests");
    auto manifests = descriptors(j["manifests"], "manifests");
    if (!manifests.ok()) return manifests.status();
    doc.index.manifests = std::move(*manifests);
    auto annotations = stringMap(j, "annotations");
    if (!annotations.ok()) return annotations.status();
    doc.index.annotations = std::move(*annotations);
    return doc;
  }
  if (kind != kDockerManifest && kind != kOciManifest) return bad(strCat("unsupported media type ", kind));
  doc.manifest.mediaType = std::string(kind);
  if (!j.contains("config")) return bad("config missing");
  auto config = descriptor(j["config"], "config");
  if (!config.ok()) return config.status();
  doc.manifest.config = std::move(*config);
  if (!j.contains("layers") || !j["layers"].is_array()) return bad("layers missing");
  auto layers = descriptors(j["layers"], "layers");
  if (!layers.ok()) return layers.status();
  doc.manifest.layers = std::move(*layers);
  auto annotations = stringMap(j, "annotations");
  if (!annotations.ok()) return annotations.status();
  doc.manifest.annotations = std::move(*annotations);
  return doc;
}

absl::StatusOr<Descriptor> selectManifest(const Index& index, const Platform& want) {
  const Descriptor* loose = nullptr;
  Platform w = normalize(want);
  for (const Descriptor& d : index.manifests) {
    if (!d.platform || !matches(w, *d.platform)) continue;
    // Attestation manifests carry platform "unknown/unknown" and never match.
    if (normalize(*d.platform).variant == w.variant) return d;
    if (loose == nullptr) loose = &d;
  }
  if (loose != nullptr) return *loose;
  return absl::NotFoundError(strCat("no matching manifest for ", w.toString(), " in the manifest list entries"));
}

}  // namespace berth::oci
