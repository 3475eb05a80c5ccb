#include "util/version_compare.h"

#include <cstdint>

namespace berth {
namespace {

// Reads the numeric component at `pos` and advances past the following dot.
uint64_t nextComponent(std::string_view v, size_t& pos) {
  uint64_t n = 0;
  while (pos < v.size() && v[pos] != '.') {
    char c = v[pos++];
    if (c >= '0' && c <= '9' && n < (UINT64_MAX - 9) / 10) n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (pos < v.size()) ++pos;  // skip '.'
  return n;
}

}  // namespace

int compareVersions(std::string_view a, std::string_view b) {
  size_t pa = 0;
  size_t pb = 0;
  while (pa < a.size() || pb < b.size()) {
    uint64_t x = nextComponent(a, pa);
    uint64_t y = nextComponent(b, pb);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

}  // namespace berth
