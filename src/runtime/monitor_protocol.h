#pragma once
// What the daemon and a container's monitor say to each other over the
// monitor's unix socket (<container dir>/monitor.sock) or over a socketpair
// handed to the monitor at start. Every message is a frame with Docker's
// 8-byte stream header — [type, 0, 0, 0, big-endian uint32 length] — so the
// stdout/stderr frames of a non-TTY container are already in the format the
// API's multiplexed attach stream uses. Header-only and libc-only.
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace berth::runtime::monitor {

enum FrameType : uint8_t {
  // client → monitor
  kStdin = 0,         // bytes for the container's stdin
  kCloseStdin = 0x20, // no more stdin (the client half-closed)
  kResize = 0x21,     // "<rows> <cols>" for the TTY
  kSignal = 0x22,     // "<signo>" to the container's init
  kHello = 0x30,      // first frame of every client: which streams it wants, e.g. "ioe"
  // monitor → client
  kStdout = 1,
  kStderr = 2,
  kExit = 0x10,  // "<exit code>": the container's init exited; the monitor then closes
};

constexpr size_t kHeaderSize = 8;

inline void encodeHeader(uint8_t type, uint32_t length, unsigned char out[kHeaderSize]) {
  out[0] = type;
  out[1] = out[2] = out[3] = 0;
  out[4] = static_cast<unsigned char>(length >> 24);
  out[5] = static_cast<unsigned char>(length >> 16);
  out[6] = static_cast<unsigned char>(length >> 8);
  out[7] = static_cast<unsigned char>(length);
}

inline uint32_t decodeLength(const unsigned char h[kHeaderSize]) {
  return (uint32_t(h[4]) << 24) | (uint32_t(h[5]) << 16) | (uint32_t(h[6]) << 8) | uint32_t(h[7]);
}

inline std::string frame(uint8_t type, std::string_view payload) {
  std::string out(kHeaderSize + payload.size(), '\0');
  encodeHeader(type, static_cast<uint32_t>(payload.size()), reinterpret_cast<unsigned char*>(out.data()));
  std::memcpy(out.data() + kHeaderSize, payload.data(), payload.size());
  return out;
}

// Frames larger than this are refused (the monitor drops the client).
constexpr uint32_t kMaxFrame = 1 << 20;

// Reads exactly `n` bytes from a blocking fd; false at the end of the stream or an error.
inline bool readExact(int fd, void* data, size_t n) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= size_t(r);
  }
  return true;
}

// Files in the container directory.
constexpr const char* kSocketName = "monitor.sock";
constexpr const char* kExitFile = "exit.json";   // {"ExitCode":…,"FinishedAt":…} written on exit
constexpr const char* kSpecFile = "spec.json";   // runtime::ContainerSpec, read by the setup helper
constexpr const char* kPidFile = "monitor.pid";  // "<monitor pid> <container pid>"

// The container's init pid from kPidFile's text; 0 when there is none.
inline int initPidFrom(const std::string& pidFileText) {
  int monitorPid = 0, init = 0;
  if (std::sscanf(pidFileText.c_str(), "%d %d", &monitorPid, &init) != 2 || init <= 0) return 0;
  return init;
}

}  // namespace berth::runtime::monitor
