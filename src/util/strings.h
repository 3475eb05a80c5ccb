#pragma once
// String helpers on std::string_view. Debian's abseil is built with its own
// absl::string_view (not an alias of std::string_view), so its StrCat and
// StrSplit do not take std::string_view; these small helpers replace them.
// absl::Status is still used, and its messages (absl::string_view) are
// accepted by strCat.
#include <charconv>
#include <concepts>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"

namespace berth {

namespace strings_internal {
inline void append(std::string& out, std::string_view s) { out.append(s); }
inline void append(std::string& out, const std::string& s) { out.append(s); }
inline void append(std::string& out, const char* s) { out.append(s); }
inline void append(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
inline void append(std::string& out, char c) { out.push_back(c); }
template <std::integral T>
void append(std::string& out, T v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, end);
}
}  // namespace strings_internal

// Concatenates strings, string views, characters and integers.
template <class... Args>
std::string strCat(const Args&... args) {
  std::string out;
  (strings_internal::append(out, args), ...);
  return out;
}

inline std::string_view toStd(absl::string_view s) { return {s.data(), s.size()}; }

// Splits on `sep`; keeps empty pieces unless `skipEmpty`.
std::vector<std::string_view> split(std::string_view s, char sep, bool skipEmpty = false);
// Splits on any character of `seps`.
std::vector<std::string_view> splitAny(std::string_view s, std::string_view seps, bool skipEmpty = false);
// Splits at the first `sep`: {"a", "b=c"} for "a=b=c" and {"a", ""} for "a".
std::pair<std::string_view, std::string_view> splitOnce(std::string_view s, char sep);

std::string_view trim(std::string_view s);
std::string toLower(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// Removes `prefix` (`suffix`) and returns true if `s` has it.
bool consumePrefix(std::string_view& s, std::string_view prefix);
bool consumeSuffix(std::string_view& s, std::string_view suffix);

// Whole-string integer parse (optional leading '-'); false on any junk or overflow.
template <std::integral T>
bool parseInt(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace berth
