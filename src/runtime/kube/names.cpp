#include "runtime/kube/names.h"

#include <cctype>

#include "util/strings.h"

namespace berth::runtime::kube {
namespace {

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool lowerOrDigit(char c) { return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)); }

}  // namespace

bool validLabelValue(std::string_view v) {
  if (v.empty()) return true;
  if (v.size() > 63 || !alnum(v.front()) || !alnum(v.back())) return false;
  for (char c : v) {
    if (!(alnum(c) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

bool validDnsLabel(std::string_view h) {
  if (h.empty() || h.size() > 63 || !alnum(h.front()) || !alnum(h.back())) return false;
  for (char c : h) {
    if (!(lowerOrDigit(c) || c == '-')) return false;
  }
  return true;
}

bool validDnsSubdomain(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  for (std::string_view part : split(h, '.')) {
    if (!validDnsLabel(part)) return false;
  }
  return true;
}

bool validLabelKey(std::string_view k) {
  auto slash = k.rfind('/');
  std::string_view name = slash == std::string_view::npos ? k : k.substr(slash + 1);
  if (slash != std::string_view::npos && !validDnsSubdomain(k.substr(0, slash))) return false;
  return !name.empty() && validLabelValue(name);
}

}  // namespace berth::runtime::kube
