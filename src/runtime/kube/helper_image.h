#pragma once
// Berth's helper image: one uncompressed layer holding the static
// berth-kubehelper at /, made the same way every time (no timestamps), so
// one helper binary is always one manifest digest. The pods' init container
// and sidecar run it; the daemon publishes it at start to the registry the
// cluster pulls from (--helper-image).
#include <string>

#include "absl/status/statusor.h"
#include "image/registry/registry_client.h"

namespace berth::runtime::kube {

struct HelperImage {
  std::string layer, config, manifest;  // bodies
  std::string layerDigest, configDigest, manifestDigest;
  static constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";
};

// From the helper binary's bytes; `arch` is Go's name (amd64, arm64).
HelperImage buildHelperImage(std::string_view helperBinary, std::string_view arch, std::string_view version);

// Uploads what the repository lacks and tags the manifest `tag`.
absl::Status publishHelperImage(registry::Repository& repo, const std::string& tag, const HelperImage& image);

}  // namespace berth::runtime::kube
