#pragma once
// What Berth knows of an image besides its blobs: the config (kept as the
// registry's JSON, whose digest is the image id), the layers with their
// compressed and uncompressed digests and chain ids, and where it came from.
// Stored as JSON in the state database's images table.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace berth::image {

struct LayerRecord {
  std::string digest;     // the blob as distributed (compressed); may be empty for imported layers
  std::string mediaType;
  int64_t size = 0;       // of the blob
  std::string diffId;     // sha256 of the uncompressed tar
  std::string chainId;    // the snapshot's key
  int64_t unpackedSize = 0;
};

struct ImageRecord {
  std::string id;                  // "sha256:<config digest>"
  nlohmann::json config;           // the image config document
  std::vector<LayerRecord> layers;
  std::string manifestDigest;      // of the platform manifest pulled (empty for load/import)
  std::string manifestMediaType;
  std::string parent;              // docker-style parent image id (import/commit), usually empty
  int64_t lastTagTime = 0;         // unix nanos
  // Only the manifest and config were fetched (the kube backend: nodes pull
  // the layers), so the layers' blobs and snapshots need not be here.
  bool layersRemote = false;

  // Unpacked bytes; for remote layers the compressed ones, the only size known.
  int64_t layerSize(const LayerRecord& l) const { return layersRemote ? l.size : l.unpackedSize; }
  int64_t size() const;
  // Unix seconds of config.created (0 when absent or malformed).
  int64_t createdUnix() const;
  std::string createdText() const;

  nlohmann::json toJson() const;
  static absl::StatusOr<ImageRecord> fromJson(std::string_view text);
};

// The chain ids of a layer stack from its diff ids (OCI image spec).
std::vector<std::string> chainIds(const std::vector<std::string>& diffIds);

// Checks an image config document and returns its diff ids: a JSON object
// with rootfs.type "layers" and well-formed sha256 diff ids.
absl::StatusOr<std::vector<std::string>> configDiffIds(const nlohmann::json& config);

}  // namespace berth::image
