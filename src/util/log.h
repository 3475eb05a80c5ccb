#pragma once
// Levelled, structured logging: one line per record, either logfmt
// (`time=… level=info msg="…" key=value`) or one JSON object per line.
// Thread-safe. Records below the current level cost one atomic load.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace berth::log {

enum class Level { Debug = 0, Info, Warn, Error, Fatal };
enum class Format { Text, Json };

using Field = std::pair<std::string_view, std::string>;
using Fields = std::initializer_list<Field>;

absl::StatusOr<Level> parseLevel(std::string_view name);
absl::StatusOr<Format> parseFormat(std::string_view name);
std::string_view levelName(Level level);

void setLevel(Level level);
void setFormat(Format format);
Level level();
bool enabled(Level level);

void write(Level level, std::string_view msg, Fields fields = {});

inline void debug(std::string_view msg, Fields f = {}) { if (enabled(Level::Debug)) write(Level::Debug, msg, f); }
inline void info(std::string_view msg, Fields f = {}) { if (enabled(Level::Info)) write(Level::Info, msg, f); }
inline void warn(std::string_view msg, Fields f = {}) { if (enabled(Level::Warn)) write(Level::Warn, msg, f); }
inline void error(std::string_view msg, Fields f = {}) { if (enabled(Level::Error)) write(Level::Error, msg, f); }

// Formats one record; exposed for tests.
std::string formatRecord(Format format, std::string_view time, Level level, std::string_view msg, Fields fields);

}  // namespace berth::log
