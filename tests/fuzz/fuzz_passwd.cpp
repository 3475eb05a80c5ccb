// /etc/passwd and /etc/group of an image: untrusted text the runtime parses.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/user.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& p : berth::runtime::parsePasswd(text)) {
    if (p.name.find('\n') != std::string::npos) __builtin_trap();
  }
  for (const auto& g : berth::runtime::parseGroup(text)) {
    for (const auto& m : g.members) {
      if (m.find(',') != std::string::npos) __builtin_trap();
    }
  }
  return 0;
}
