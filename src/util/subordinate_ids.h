#pragma once
// /etc/subuid and /etc/subgid: the id ranges newuidmap/newgidmap let a user
// map into a user namespace it creates.
#include <cstdint>
#include <string_view>
#include <vector>

namespace berth {

struct IdRange {
  uint32_t start = 0, count = 0;
};

// The ranges of `text` (lines "name-or-id:start:count") granted to `user`
// or to its numeric `id`, in file order. Comments, blank and malformed lines
// are skipped.
std::vector<IdRange> subordinateIds(std::string_view text, std::string_view user, uint32_t id);

}  // namespace berth
