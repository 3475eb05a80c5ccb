#include "oci/platform.h"

#include <sys/utsname.h>

#include "nlohmann/json.hpp"
#include "util/host_info.h"
#include "util/strings.h"

namespace berth::oci {

std::string Platform::toString() const {
  std::string s = strCat(os, "/", architecture);
  if (!variant.empty()) s.append("/").append(variant);
  return s;
}

Platform normalize(Platform p) {
  p.os = toLower(p.os);
  p.architecture = toLower(p.architecture);
  p.variant = toLower(p.variant);
  if (p.architecture == "x86_64" || p.architecture == "x86-64") {
    p.architecture = "amd64";
  } else if (p.architecture == "i386" || p.architecture == "i686") {
    p.architecture = "386";
  } else if (p.architecture == "aarch64") {
    p.architecture = "arm64";
  } else if (p.architecture == "armhf") {
    p.architecture = "arm";
    if (p.variant.empty()) p.variant = "v7";
  } else if (p.architecture == "armel") {
    p.architecture = "arm";
    if (p.variant.empty()) p.variant = "v6";
  }
  if (p.architecture == "arm64" && (p.variant.empty() || p.variant == "8")) p.variant = "v8";
  if (p.architecture == "arm" && (p.variant == "7" || p.variant.empty())) p.variant = "v7";
  if (p.architecture == "amd64" && p.variant == "v1") p.variant.clear();  // v1 is baseline amd64
  return p;
}

absl::StatusOr<Platform> parsePlatform(std::string_view text) {
  Platform p;
  std::string_view t = trim(text);
  if (t.starts_with('{')) {
    nlohmann::json j = nlohmann::json::parse(t, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::InvalidArgumentError(strCat("invalid platform: ", text));
    }
    p.os = j.value("os", "");
    p.architecture = j.value("architecture", "");
    p.variant = j.value("variant", "");
    p.osVersion = j.value("os.version", "");
  } else {
    auto parts = split(t, '/');
    if (parts.size() > 3) return absl::InvalidArgumentError(strCat("invalid platform: ", text));
    p.os = std::string(parts[0]);
    if (parts.size() > 1) p.architecture = std::string(parts[1]);
    if (parts.size() > 2) p.variant = std::string(parts[2]);
  }
  auto word = [](std::string_view w) {
    for (char c : w) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
        return false;
      }
    }
    return true;
  };
  if (p.os.empty() || !word(p.os) || !word(p.architecture) || !word(p.variant)) {
    return absl::InvalidArgumentError(strCat("invalid platform: ", text));
  }
  if (p.architecture.empty()) p.architecture = hostPlatform().architecture;  // "linux" alone: this machine's
  return normalize(std::move(p));
}

Platform hostPlatform() {
  struct utsname u {};
  Platform p;
  p.os = "linux";
  p.architecture = uname(&u) == 0 ? goArch(u.machine) : "amd64";
  return normalize(std::move(p));
}

bool matches(const Platform& want, const Platform& have) {
  Platform w = normalize(want);
  Platform h = normalize(have);
  if (w.os != h.os || w.architecture != h.architecture) return false;
  return w.variant.empty() || w.variant == h.variant;
}

}  // namespace berth::oci
