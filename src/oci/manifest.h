#pragma once
// Image manifests and indexes as registries serve them: Docker schema 2
// manifests and manifest lists, OCI manifests and indexes. Decoding checks
// what later code relies on (schema version, digests, sizes, media types),
// so a malformed document is refused here with InvalidArgument.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "oci/platform.h"

namespace berth::oci {

inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerLayerForeign = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

// What the Accept header of a manifest request lists, most preferred first.
std::string manifestAcceptHeader();

struct Descriptor {
  std::string mediaType;
  std::string digest;  // "sha256:…"
  int64_t size = 0;
  std::optional<Platform> platform;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> urls;
};

enum class Compression { None, Gzip, Zstd };

// The compression of a layer media type; InvalidArgument for a type that is
// not a layer Berth can unpack (foreign layers included: they are not
// fetched from the registry that serves the image).
absl::StatusOr<Compression> layerCompression(std::string_view mediaType);

// The media type Berth records for a layer blob it did not pull (load,
// import): Docker's for plain and gzip, OCI's for zstd (Docker has none).
std::string_view layerMediaType(Compression compression);

struct Manifest {
  std::string mediaType;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

struct Index {
  std::string mediaType;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

struct ManifestDocument {
  bool isIndex = false;
  Manifest manifest;  // when !isIndex
  Index index;        // when isIndex
};

// Decodes a manifest or index. `contentType` is the registry's Content-Type
// (may be empty or generic, then the document's own mediaType decides).
absl::StatusOr<ManifestDocument> parseManifest(std::string_view body, std::string_view contentType);

// The entry of `index` for `want`, preferring an exact variant match.
// NotFound with dockerd's text "no matching manifest for <platform> in the
// manifest list entries" when there is none.
absl::StatusOr<Descriptor> selectManifest(const Index& index, const Platform& want);

}  // namespace berth::oci
