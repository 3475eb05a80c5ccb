#include "image/reference.h"

#include "util/strings.h"

namespace berth::image {
namespace {

constexpr size_t kNameTotalLengthMax = 255;
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kOfficialRepoPrefix = "library/";

absl::Status invalidFormat() { return absl::InvalidArgumentError("invalid reference format"); }

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool isHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | [-]+
bool isPathComponent(std::string_view c) {
  size_t i = 0;
  auto alnumRun = [&] {
    size_t start = i;
    while (i < c.size() && isLowerAlnum(c[i])) ++i;
    return i > start;
  };
  if (!alnumRun()) return false;
  while (i < c.size()) {
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnumRun()) return false;
  }
  return true;
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool isDomainComponent(std::string_view c) {
  if (c.empty() || !isAlnum(c.front()) || !isAlnum(c.back())) return false;
  for (char ch : c) {
    if (!isAlnum(ch) && ch != '-') return false;
  }
  return true;
}

// host [":" port], host := domain-name | "[" IPv6 "]"
bool isDomain(std::string_view d) {
  std::string_view host = d;
  if (d.starts_with('[')) {
    size_t close = d.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char ch : d.substr(1, close - 1)) {
      if (!isHex(ch) && ch != ':') return false;
    }
    host = {};
    d.remove_prefix(close + 1);
    if (d.empty()) return true;
    if (d.front() != ':') return false;
  } else if (size_t colon = d.find(':'); colon != std::string_view::npos) {
    host = d.substr(0, colon);
    d.remove_prefix(colon);
  } else {
    d = {};
  }
  if (!d.empty()) {  // ":port"
    std::string_view port = d.substr(1);
    if (port.empty()) return false;
    for (char ch : port) {
      if (ch < '0' || ch > '9') return false;
    }
  }
  if (host.empty()) return true;  // the bracketed IPv6 case
  for (std::string_view part : split(host, '.')) {
    if (!isDomainComponent(part)) return false;
  }
  return true;
}

bool isHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

// distribution's splitDockerDomain, applied to the whole text as dockerd does.
std::pair<std::string, std::string> splitDockerDomain(std::string_view text) {
  std::string domain;
  std::string remainder;
  size_t slash = text.find('/');
  std::string_view first = slash == std::string_view::npos ? std::string_view() : text.substr(0, slash);
  if (slash == std::string_view::npos ||
      (first.find_first_of(".:") == std::string_view::npos && first != "localhost" && toLower(first) == first)) {
    domain = std::string(kDefaultDomain);
    remainder = std::string(text);
  } else {
    domain = std::string(first);
    remainder = std::string(text.substr(slash + 1));
  }
  if (domain == kLegacyDefaultDomain) domain = std::string(kDefaultDomain);
  if (domain == kDefaultDomain && remainder.find('/') == std::string::npos) {
    remainder = strCat(kOfficialRepoPrefix, remainder);
  }
  return {domain, remainder};
}

}  // namespace

bool isValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) { return isAlnum(c) || c == '_'; };
  if (!word(tag.front())) return false;
  for (char c : tag) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool isValidDigest(std::string_view digest) {
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view algorithm = digest.substr(0, colon);
  std::string_view hex = digest.substr(colon + 1);
  if (algorithm == "sha256") return isHex64(hex);
  // digest-algorithm := component ([+._-] component)*, component := [A-Za-z][A-Za-z0-9]*
  bool atComponentStart = true;
  for (char c : algorithm) {
    bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (atComponentStart) {
      if (!letter) return false;
      atComponentStart = false;
    } else if (c == '+' || c == '.' || c == '_' || c == '-') {
      atComponentStart = true;
    } else if (!letter && !(c >= '0' && c <= '9')) {
      return false;
    }
  }
  if (atComponentStart || hex.size() < 32) return false;
  for (char c : hex) {
    if (!isHex(c)) return false;
  }
  return true;
}

absl::StatusOr<Reference> parseNormalized(std::string_view text) {
  if (text.empty()) return invalidFormat();
  if (isHex64(text)) {
    return absl::InvalidArgumentError(
        strCat("invalid repository name (", text, "), cannot specify 64-byte hexadecimal strings"));
  }
  auto [domain, remainder] = splitDockerDomain(text);
  std::string_view remoteName = std::string_view(remainder).substr(0, remainder.find(':'));
  if (toLower(remoteName) != remoteName) {
    return absl::InvalidArgumentError(
        strCat("invalid reference format: repository name (", remoteName, ") must be lowercase"));
  }

  Reference ref;
  ref.domain = std::move(domain);
  std::string_view rest = remainder;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (!isValidDigest(ref.digest)) return invalidFormat();
  }
  size_t lastSlash = rest.rfind('/');
  size_t colon = rest.find(':', lastSlash == std::string_view::npos ? 0 : lastSlash + 1);
  if (colon != std::string_view::npos) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!isValidTag(ref.tag)) return invalidFormat();
  }
  if (!isDomain(ref.domain) || rest.empty()) return invalidFormat();
  for (std::string_view component : split(rest, '/')) {
    if (!isPathComponent(component)) return invalidFormat();
  }
  ref.path = std::string(rest);
  if (ref.domain.size() + 1 + ref.path.size() > kNameTotalLengthMax) {
    return absl::InvalidArgumentError(
        strCat("invalid reference format: repository name must not be more than ", kNameTotalLengthMax,
               " characters"));
  }
  return ref;
}

Reference withDefaultTag(Reference ref) {
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = std::string(kDefaultTag);
  return ref;
}

std::string Reference::name() const { return strCat(domain, "/", path); }

std::string Reference::canonical() const {
  std::string s = name();
  if (!tag.empty()) s.append(":").append(tag);
  if (!digest.empty()) s.append("@").append(digest);
  return s;
}

std::string Reference::familiarName() const {
  if (domain != kDefaultDomain) return name();
  std::string_view p = path;
  // "library/busybox" → "busybox", but "library/a/b" stays as it is.
  if (p.starts_with(kOfficialRepoPrefix) && p.find('/', kOfficialRepoPrefix.size()) == std::string_view::npos) {
    p.remove_prefix(kOfficialRepoPrefix.size());
  }
  return std::string(p);
}

std::string Reference::familiar() const {
  std::string s = familiarName();
  if (!tag.empty()) s.append(":").append(tag);
  if (!digest.empty()) s.append("@").append(digest);
  return s;
}

}  // namespace berth::image
