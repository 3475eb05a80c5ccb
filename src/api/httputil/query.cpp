#include "api/httputil/query.h"

#include "util/strings.h"
#include "util/strings.h"
#include "util/strings.h"
#include "util/strings.h"

namespace berth::api::httputil {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<std::string> percentDecode(std::string_view in, bool plusIsSpace) {
  if (in.find_first_of(plusIsSpace ? "%+" : "%") == std::string_view::npos) return std::string(in);
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) {
        return absl::InvalidArgumentError(strCat("invalid URL escape \"", in.substr(i, 3), "\""));
      }
      int hi = hexValue(in[i + 1]);
      int lo = hexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return absl::InvalidArgumentError(strCat("invalid URL escape \"", in.substr(i, 3), "\""));
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plusIsSpace) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<Query> Query::parse(std::string_view raw) {
  Query q;
  for (std::string_view pair : splitAny(raw, "&;", /*skipEmpty=*/true)) {
    auto kv = splitOnce(pair, '=');
    auto key = percentDecode(kv.first, true);
    if (!key.ok()) return key.status();
    auto value = percentDecode(kv.second, true);
    if (!value.ok()) return value.status();
    q.values_.emplace(std::move(*key), std::move(*value));
  }
  return q;
}

std::optional<std::string_view> Query::get(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::string_view Query::getOr(std::string_view key, std::string_view fallback) const {
  auto v = get(key);
  return v ? *v : fallback;
}

std::vector<std::string_view> Query::all(std::string_view key) const {
  std::vector<std::string_view> out;
  auto [lo, hi] = values_.equal_range(key);
  for (auto it = lo; it != hi; ++it) out.emplace_back(it->second);
  return out;
}

bool Query::boolValue(std::string_view key) const {
  auto v = get(key);
  if (!v) return false;
  std::string s = toLower(trim(*v));
  return !(s.empty() || s == "0" || s == "no" || s == "false" || s == "none");
}

absl::StatusOr<std::optional<int64_t>> Query::intValue(std::string_view key) const {
  auto v = get(key);
  if (!v || v->empty()) return std::optional<int64_t>();
  int64_t n = 0;
  if (!parseInt(*v, n)) {
    return absl::InvalidArgumentError(strCat("invalid value for ", key, ": ", *v));
  }
  return std::optional<int64_t>(n);
}

}  // namespace berth::api::httputil
