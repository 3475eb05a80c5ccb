#pragma once
// The container log file format, shared by the monitor (writer) and the
// daemon (reader). Binary, so reading 100 MB of logs is a copy rather than
// a JSON parse per line: each record is a 16-byte header then the bytes of
// one line (with its '\n'), or of a line's piece when the line was longer
// than kMaxLine or was the last, unterminated output of the stream.
// Header-only and libc-only: the monitor links nothing else.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

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
// A record of this stream and no bytes is a reader's marker, never in a
// file: the kube helper sends one, in band, once the log as it was is out.
constexpr uint8_t kMarkerStream = 0;
// dockerd's json-file splits lines at 16 KiB; so do we.
constexpr uint32_t kMaxLine = 16 * 1024;

// Base name of the live file in the container directory; rotated files get
// ".1" (newest) … ".N" (oldest) appended.
constexpr const char* kLogFile = "container.log";

// Walks the whole records of the bytes [from, size), where at(off) gives a
// pointer to the byte at offset `off`: onRecord(header, offset of the
// header) for each. Returns where the first incomplete record starts. A
// record with a wrong magic (a torn or foreign file) ends the walk there
// and sets *torn.
template <class At, class OnRecord>
size_t walkRecords(size_t size, size_t from, At&& at, OnRecord&& onRecord, bool* torn = nullptr) {
  size_t off = from;
  while (size > off && size - off >= sizeof(RecordHeader)) {
    RecordHeader h;
    std::memcpy(&h, at(off), sizeof h);
    if (h.magic != kMagic) {
      if (torn != nullptr) *torn = true;
      return off;
    }
    if (size - off - sizeof h < h.length) break;
    onRecord(h, off);
    off += sizeof h + h.length;
  }
  return off;
}

// The offsets where the lines of [0, size) begin: a line is the records up
// to and including one that is not partial. Also where the walk ended.
template <class At>
std::vector<size_t> lineStarts(size_t size, At&& at, size_t* end = nullptr) {
  std::vector<size_t> starts;
  bool atLineStart = true;
  size_t e = walkRecords(size, 0, at, [&](const RecordHeader& h, size_t off) {
    if (atLineStart) starts.push_back(off);
    atLineStart = h.partial == 0;
  });
  if (end != nullptr) *end = e;
  return starts;
}

}  // namespace berth::runtime::logfmt
