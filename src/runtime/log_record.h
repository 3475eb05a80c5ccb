#pragma once
// The container log file format, shared by the monitor (writer) and the
// daemon (reader). Binary, so reading 100 MB of logs is a copy rather than
// a JSON parse per line: each record is a 16-byte header then the bytes of
// one line (with its '\n'), or of a line's piece when the line was longer
// than kMaxLine or was the last, unterminated output of the stream.
// Header-only and libc-only: the monitor links nothing else.
#include <cstdint>
#include <cstring>

namespace berth::runtime::logfmt {

enum Stream : uint8_t { kStdout = 1, kStderr = 2 };

struct RecordHeader {
  uint64_t timeNanos;  // CLOCK_REALTIME when the monitor read the bytes
  uint32_t length;     // payload bytes that follow
  uint8_t stream;      // Stream
  uint8_t partial;     // 1: the line continues in the next record of this stream
  uint16_t magic;      // kMagic: a torn or foreign file is detected, not misread
};
static_assert(sizeof(RecordHeader) == 16);

constexpr uint16_t kMagic = 0xB1A7;
// dockerd's json-file splits lines at 16 KiB; so do we.
constexpr uint32_t kMaxLine = 16 * 1024;

// Base name of the live file in the container directory; rotated files get
// ".1" (newest) … ".N" (oldest) appended.
constexpr const char* kLogFile = "container.log";

}  // namespace berth::runtime::logfmt
