#pragma once
// Named volumes as PersistentVolumeClaims: with a storage class (the
// daemon's --storage-class, or a volume's `-o storage-class=`), a named
// volume is a claim that outlives its containers and is shared by them, as
// a Docker volume is; without one it stays an emptyDir per pod. The claim
// is named from the daemon's id and the volume's name, so two Berths in one
// namespace never share one by accident.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "runtime/kube/pod_builder.h"

namespace berth::runtime::kube {

inline constexpr const char* kVolumeAnnotation = "berth.dev/volume";  // the Docker volume's name

// The `docker volume create -o` options a claim takes.
std::vector<std::string> claimOptions();

struct ClaimDefaults {
  std::string storageClass;  // --storage-class; empty: volumes are emptyDirs
  std::string size = "1Gi";  // --volume-size
};

struct ClaimRequest {
  std::string name;  // the claim's
  std::string storageClass, size, accessMode;
};

// What the volume's options and the defaults make: nullopt without a
// storage class (an emptyDir; then size or access-mode is an error).
// InvalidArgument naming the option for a bad value.
absl::StatusOr<std::optional<ClaimRequest>> claimFor(const PodOptions& pod, const std::string& volume,
                                                     const std::map<std::string, std::string>& options,
                                                     const ClaimDefaults& defaults);

// The PersistentVolumeClaim, labelled with the daemon's instance.
nlohmann::json buildVolumeClaim(const PodOptions& pod, const std::string& volume, const ClaimRequest& claim);

}  // namespace berth::runtime::kube
