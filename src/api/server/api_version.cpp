#include "api/server/api_version.h"

#include "util/strings.h"
#include "util/version_compare.h"

namespace berth::api::server {

VersionedPath splitVersionPrefix(std::string_view path) {
  if (path.size() < 3 || path[0] != '/' || path[1] != 'v') return {"", path};
  size_t i = 2;
  while (i < path.size() && ((path[i] >= '0' && path[i] <= '9') || path[i] == '.')) ++i;
  if (i == 2) return {"", path};
  if (i < path.size() && path[i] != '/') return {"", path};
  std::string_view rest = path.substr(i);
  return {path.substr(2, i - 2), rest.empty() ? std::string_view("/") : rest};
}

absl::Status checkApiVersion(std::string_view version) {
  if (compareVersions(version, kMinApiVersion) < 0) {
    return absl::InvalidArgumentError(strCat("client version ", version,
                                                   " is too old. Minimum supported API version is ", kMinApiVersion,
                                                   ", please upgrade your client to a newer version"));
  }
  if (compareVersions(version, kApiVersion) > 0) {
    return absl::InvalidArgumentError(
        strCat("client version ", version, " is too new. Maximum supported API version is ", kApiVersion));
  }
  return absl::OkStatus();
}

}  // namespace berth::api::server
