#pragma once
// Stdin for `berth-kubehelper exec --framed-stdin`: a v4 stream cannot end
// stdin without ending the whole exec (and its output), so the daemon sends
// stdin in frames — a 4-byte big-endian length, then that many bytes — and
// a frame of length 0 says it has ended. Header-only and libc-only (the
// helper is built lean).
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace berth::runtime::kube {

inline constexpr size_t kStdinFrameHeader = 4;

inline std::string stdinFrame(std::string_view data) {
  std::string out(kStdinFrameHeader + data.size(), '\0');
  uint32_t n = static_cast<uint32_t>(data.size());
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
  if (!data.empty()) std::memcpy(out.data() + kStdinFrameHeader, data.data(), data.size());
  return out;
}

// Takes whole frames off the front of `buffer`, handing each payload to
// `sink`; true once the end frame has been taken.
template <class Sink>
bool takeStdinFrames(std::string& buffer, const Sink& sink) {
  size_t off = 0;
  bool ended = false;
  while (buffer.size() - off >= kStdinFrameHeader) {
    const auto* h = reinterpret_cast<const unsigned char*>(buffer.data() + off);
    uint32_t n = (uint32_t(h[0]) << 24) | (uint32_t(h[1]) << 16) | (uint32_t(h[2]) << 8) | uint32_t(h[3]);
    if (n == 0) {
      off += kStdinFrameHeader;
      ended = true;
      break;
    }
    if (buffer.size() - off - kStdinFrameHeader < n) break;
    sink(std::string_view(buffer.data() + off + kStdinFrameHeader, n));
    off += kStdinFrameHeader + n;
  }
  buffer.erase(0, off);
  return ended;
}

}  // namespace berth::runtime::kube
