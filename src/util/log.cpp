#include "util/log.h"

#include <unistd.h>

#include <atomic>
#include <mutex>

#include "nlohmann/json.hpp"
#include "util/strings.h"
#include "util/timestamp.h"
#include "util/unique_fd.h"

namespace berth::log {
namespace {

std::atomic<int> gLevel{static_cast<int>(Level::Info)};
std::atomic<int> gFormat{static_cast<int>(Format::Text)};

// One write(2) per record under a lock: lines never interleave, and nothing
// is buffered that a crash could lose.
std::mutex gSinkMu;

void writeLine(std::string line) {
  line.push_back('\n');
  std::lock_guard lock(gSinkMu);
  (void)writeAll(STDERR_FILENO, line);  // stderr closed: drop the record rather than fail
}

bool needsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) >= 0x7f) return true;
  }
  return false;
}

void appendLogfmtValue(std::string& out, std::string_view v) {
  if (!needsQuotes(v)) {
    out.append(v);
    return;
  }
  // JSON string escaping is a valid logfmt quoting and handles control bytes.
  out.append(nlohmann::json(std::string(v)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

absl::StatusOr<Level> parseLevel(std::string_view name) {
  std::string n = toLower(name);
  if (n == "debug") return Level::Debug;
  if (n == "info") return Level::Info;
  if (n == "warn" || n == "warning") return Level::Warn;
  if (n == "error") return Level::Error;
  if (n == "fatal") return Level::Fatal;
  return absl::InvalidArgumentError("unknown log level \"" + std::string(name) +
                                    "\" (want debug, info, warn, error or fatal)");
}

absl::StatusOr<Format> parseFormat(std::string_view name) {
  if (name == "text") return Format::Text;
  if (name == "json") return Format::Json;
  return absl::InvalidArgumentError("unknown log format \"" + std::string(name) + "\" (want text or json)");
}

std::string_view levelName(Level level) {
  switch (level) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warning";
    case Level::Error: return "error";
    case Level::Fatal: return "fatal";
  }
  return "info";
}

void setLevel(Level level) { gLevel.store(static_cast<int>(level), std::memory_order_relaxed); }
void setFormat(Format format) { gFormat.store(static_cast<int>(format), std::memory_order_relaxed); }
Level level() { return static_cast<Level>(gLevel.load(std::memory_order_relaxed)); }
bool enabled(Level l) { return static_cast<int>(l) >= gLevel.load(std::memory_order_relaxed); }

std::string formatRecord(Format format, std::string_view time, Level level, std::string_view msg, Fields fields) {
  if (format == Format::Json) {
    nlohmann::ordered_json j;
    j["time"] = time;
    j["level"] = levelName(level);
    j["msg"] = msg;
    for (const auto& [k, v] : fields) j[std::string(k)] = v;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out;
  out.reserve(64 + msg.size());
  out.append("time=").append(time).append(" level=").append(levelName(level)).append(" msg=");
  appendLogfmtValue(out, msg);
  for (const auto& [k, v] : fields) {
    out.push_back(' ');
    out.append(k).push_back('=');
    appendLogfmtValue(out, v);
  }
  return out;
}

void write(Level level, std::string_view msg, Fields fields) {
  std::string line = formatRecord(static_cast<Format>(gFormat.load(std::memory_order_relaxed)),
                                  formatRfc3339Nano(nowSystem()), level, msg, fields);
  writeLine(std::move(line));
}

}  // namespace berth::log
