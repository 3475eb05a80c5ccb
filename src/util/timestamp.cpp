#include "util/timestamp.h"

#include <cstdio>
#include <ctime>
#include <string>

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

absl::StatusOr<SystemTime> parseRfc3339(std::string_view text) {
  auto bad = [&] { return absl::InvalidArgumentError(strCat("invalid RFC 3339 time \"", text, "\"")); };
  // YYYY-MM-DDTHH:MM:SS
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':') {
    return bad();
  }
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!parseInt(text.substr(0, 4), year) || !parseInt(text.substr(5, 2), month) || !parseInt(text.substr(8, 2), day) ||
      !parseInt(text.substr(11, 2), hour) || !parseInt(text.substr(14, 2), minute) ||
      !parseInt(text.substr(17, 2), second)) {
    return bad();
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return bad();
  std::string_view rest = text.substr(19);
  int64_t nanos = 0;
  if (!rest.empty() && rest[0] == '.') {
    size_t i = 1;
    int digits = 0;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
      if (digits < 9) nanos = nanos * 10 + (rest[i] - '0'), ++digits;
      ++i;
    }
    if (i == 1) return bad();
    for (; digits < 9; ++digits) nanos *= 10;
    rest.remove_prefix(i);
  }
  int64_t offset = 0;
  if (rest == "Z" || rest == "z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = 0, om = 0;
    if (!parseInt(rest.substr(1, 2), oh) || !parseInt(rest.substr(4, 2), om)) return bad();
    offset = (oh * 3600 + om * 60) * (rest[0] == '+' ? 1 : -1);
  } else {
    return bad();
  }
  struct tm tm {};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  int64_t secs = int64_t(timegm(&tm)) - offset;
  return fromUnixNanos(secs * 1'000'000'000 + nanos);
}

}  // namespace berth
