#include "util/subordinate_ids.h"

#include <charconv>
#include <string>

#include "util/strings.h"

namespace berth {
namespace {

bool parseU32(std::string_view s, uint32_t& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::vector<IdRange> subordinateIds(std::string_view text, std::string_view user, uint32_t id) {
  std::vector<IdRange> out;
  std::string idText = std::to_string(id);
  for (std::string_view line : split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string_view> f = split(line, ':');
    if (f.size() != 3) continue;
    if (f[0] != user && f[0] != idText) continue;
    IdRange r;
    if (!parseU32(f[1], r.start) || !parseU32(f[2], r.count) || r.count == 0) continue;
    out.push_back(r);
  }
  return out;
}

}  // namespace berth
