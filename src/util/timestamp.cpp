#include "util/timestamp.h"

#include <cstdio>
#include <ctime>
#include <string>

#include "util/strings.h"
#include "util/strings.h"

namespace berth {

absl::StatusOr<SystemTime> parseApiTimestamp(std::string_view text) {
  auto bad = [&] { return absl::InvalidArgumentError(strCat("invalid timestamp \"", text, "\"")); };
  std::string_view secPart = text;
  std::string_view fracPart;
  if (auto dot = text.find('.'); dot != std::string_view::npos) {
    secPart = text.substr(0, dot);
    fracPart = text.substr(dot + 1);
    if (fracPart.empty()) return bad();  // "1." is malformed, as in dockerd
  }
  int64_t sec = 0;
  if (secPart.empty() || !parseInt(secPart, sec)) return bad();
  if (sec > INT64_MAX / 1'000'000'000 || sec < INT64_MIN / 1'000'000'000) return bad();
  int64_t nanos = 0;
  if (!fracPart.empty()) {
    if (fracPart.size() > 9) return bad();
    for (char c : fracPart) {
      if (c < '0' || c > '9') return bad();
    }
    int64_t frac = 0;
    if (!parseInt(fracPart, frac)) return bad();
    for (size_t i = fracPart.size(); i < 9; ++i) frac *= 10;
    nanos = frac;
  }
  int64_t total = sec * 1'000'000'000 + (sec < 0 ? -nanos : nanos);
  return fromUnixNanos(total);
}

int64_t toUnixNanos(SystemTime t) { return t.time_since_epoch().count(); }

SystemTime fromUnixNanos(int64_t ns) { return SystemTime(std::chrono::nanoseconds(ns)); }

SystemTime nowSystem() {
  return std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now());
}

std::string formatRfc3339Nano(SystemTime t) {
  int64_t ns = toUnixNanos(t);
  time_t sec = static_cast<time_t>(ns / 1'000'000'000);
  int64_t frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --sec;
  }
  std::tm tm{};
  gmtime_r(&sec, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(frac));
  return buf;
}

}  // namespace berth
