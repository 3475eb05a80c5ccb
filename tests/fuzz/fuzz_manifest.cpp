// Fuzzes manifest and index decoding (with each Content-Type a registry may
// send) and platform selection over whatever index decodes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oci/manifest.h"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the Content-Type.
  static constexpr std::string_view kTypes[] = {"", oci::kDockerManifest, oci::kDockerManifestList, oci::kOciManifest,
                                                oci::kOciIndex, "application/json"};
  std::string_view type = kTypes[data[0] % std::size(kTypes)];
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto doc = oci::parseManifest(body, type);
  if (!doc.ok()) return 0;
  if (doc->isIndex) {
    (void)oci::selectManifest(doc->index, oci::hostPlatform());
    (void)oci::selectManifest(doc->index, oci::Platform{"linux", "arm", "v7", ""});
  } else {
    for (const auto& l : doc->manifest.layers) (void)oci::layerCompression(l.mediaType);
  }
  return 0;
}
