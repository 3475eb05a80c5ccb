#pragma once
// Platforms (os/architecture/variant) as the OCI image index and the API's
// `platform` parameter spell them, normalised as containerd does.
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace berth::oci {

struct Platform {
  std::string os;            // "linux"
  std::string architecture;  // GOARCH: "amd64", "arm64", "arm"
  std::string variant;       // "v8", "v7", empty when none
  std::string osVersion;

  // "linux/arm64/v8", or "linux/amd64" without a variant.
  std::string toString() const;
  bool operator==(const Platform&) const = default;
};

// Canonical names: "aarch64" → "arm64", "x86_64" → "amd64", "armhf" →
// "arm"/"v7"; arm64 without a variant is "v8"; os in lower case.
Platform normalize(Platform p);

// "linux", "linux/amd64", "linux/arm/v7" (also a JSON object as the API
// allows: {"os":"linux","architecture":"arm64"}). InvalidArgument otherwise.
absl::StatusOr<Platform> parsePlatform(std::string_view text);

// The platform of this machine, normalised.
Platform hostPlatform();

// Whether an image for `have` runs where `want` is asked for: same os and
// architecture, and the same variant when `want` names one (an arm64 image
// without a variant counts as v8).
bool matches(const Platform& want, const Platform& have);

}  // namespace berth::oci
