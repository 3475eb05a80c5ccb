#include "runtime/kube/volume_claims.h"

#include <algorithm>

#include "runtime/kube/names.h"
#include "runtime/kube/pod_settings.h"
#include "util/digest.h"
#include "util/strings.h"

namespace berth::runtime::kube {
namespace {

constexpr std::string_view kAccessModes[] = {"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"};

}  // namespace

std::vector<std::string> claimOptions() { return {"storage-class", "size", "access-mode"}; }

absl::StatusOr<std::optional<ClaimRequest>> claimFor(const PodOptions& pod, const std::string& volume,
                                                     const std::map<std::string, std::string>& options,
                                                     const ClaimDefaults& defaults) {
  auto option = [&](const char* key, const std::string& fallback) {
    auto it = options.find(key);
    return it == options.end() ? fallback : it->second;
  };
  ClaimRequest c;
  c.storageClass = option("storage-class", defaults.storageClass);
  c.size = option("size", defaults.size);
  c.accessMode = option("access-mode", "ReadWriteOnce");
  if (c.storageClass.empty()) {
    for (const char* key : {"size", "access-mode"}) {
      if (options.contains(key)) {
        return absl::InvalidArgumentError(strCat("volume option \"", key, "\" needs a storage class (--storage-class ",
                                                 "or -o storage-class=…): without one a volume is an emptyDir"));
      }
    }
    return std::nullopt;
  }
  if (!validDnsSubdomain(c.storageClass)) {
    return absl::InvalidArgumentError(strCat("volume option \"storage-class\": \"", c.storageClass,
                                             "\" is not a Kubernetes object name"));
  }
  if (!validQuantity(c.size)) {
    return absl::InvalidArgumentError(strCat("volume option \"size\": \"", c.size, "\" is not a Kubernetes quantity (e.g. 1Gi)"));
  }
  if (std::find(std::begin(kAccessModes), std::end(kAccessModes), c.accessMode) == std::end(kAccessModes)) {
    return absl::InvalidArgumentError(strCat("volume option \"access-mode\": \"", c.accessMode, "\" is not one of ",
                                             "ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod"));
  }
  // prefix-vol-<12 hex>: a DNS label, like the pods' names.
  c.name = strCat(pod.namePrefix, "-vol-", sha256Digest(strCat(pod.instance, "/", volume)).substr(7, 12));
  return c;
}

nlohmann::json buildVolumeClaim(const PodOptions& pod, const std::string& volume, const ClaimRequest& claim) {
  return {
      {"apiVersion", "v1"},
      {"kind", "PersistentVolumeClaim"},
      {"metadata",
       {{"name", claim.name}, {"labels", {{kInstanceLabel, pod.instance}}}, {"annotations", {{kVolumeAnnotation, volume}}}}},
      {"spec",
       {{"accessModes", {claim.accessMode}},
        {"storageClassName", claim.storageClass},
        {"resources", {{"requests", {{"storage", claim.size}}}}}}},
  };
}

}  // namespace berth::runtime::kube
