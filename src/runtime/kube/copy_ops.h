#pragma once
// What the daemon sends `berth-kubehelper archive put`: the entries of a
// docker cp upload, which the daemon has already unpacked and checked with
// its own tar reader, as a plain sequence the libc-only helper applies
// without parsing tar. Each entry: a 40-byte big-endian header, the name
// (relative, no "..": checked by the daemon, refused again by the helper),
// the link target, then `size` bytes of a regular file's data. The stream
// travels in stdin_frames.h's frames; their end ends it.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace berth::runtime::kube::copyops {

enum Type : char { kDir = 'd', kFile = 'f', kSymlink = 'l', kHardlink = 'h' };

struct Entry {
  char type = kFile;
  uint32_t mode = 0644;  // permission bits (07777)
  uint32_t uid = 0, gid = 0;
  int64_t mtime = 0;  // seconds
  uint64_t size = 0;  // kFile: the data that follows
  std::string name, link;
};

inline constexpr size_t kHeaderSize = 40;
// Names and link targets longer than this are refused (PATH_MAX).
inline constexpr uint32_t kMaxName = 4096;

namespace internal {
inline void put(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline uint64_t get(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}
}  // namespace internal

// The header, name and link of `e` (its data, if any, follows).
inline std::string encodeHeader(const Entry& e) {
  std::string out;
  out.push_back(e.type);
  out.append(3, '\0');
  internal::put(out, e.mode, 4);
  internal::put(out, e.uid, 4);
  internal::put(out, e.gid, 4);
  internal::put(out, static_cast<uint64_t>(e.mtime), 8);
  internal::put(out, e.size, 8);
  internal::put(out, e.name.size(), 4);
  internal::put(out, e.link.size(), 4);
  return out + e.name + e.link;
}

// Reads a header from the front of `data` (at least kHeaderSize bytes):
// the entry without name and link, and their lengths. False for a length
// past kMaxName or an unknown type.
inline bool decodeHeader(std::string_view data, Entry& e, uint32_t& nameLen, uint32_t& linkLen) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  e.type = static_cast<char>(p[0]);
  e.mode = static_cast<uint32_t>(internal::get(p + 4, 4)) & 07777;
  e.uid = static_cast<uint32_t>(internal::get(p + 8, 4));
  e.gid = static_cast<uint32_t>(internal::get(p + 12, 4));
  e.mtime = static_cast<int64_t>(internal::get(p + 16, 8));
  e.size = internal::get(p + 24, 8);
  nameLen = static_cast<uint32_t>(internal::get(p + 32, 4));
  linkLen = static_cast<uint32_t>(internal::get(p + 36, 4));
  bool known = e.type == kDir || e.type == kFile || e.type == kSymlink || e.type == kHardlink;
  return known && nameLen > 0 && nameLen <= kMaxName && linkLen <= kMaxName;
}

// A name the helper may create below its directory: relative, and no
// component is "" (but a trailing one), "." or "..".
inline bool safeName(std::string_view name) {
  if (name.empty() || name.front() == '/') return false;
  size_t at = 0;
  while (at < name.size()) {
    size_t slash = name.find('/', at);
    std::string_view part = name.substr(at, slash == std::string_view::npos ? std::string_view::npos : slash - at);
    if (part == "." || part == ".." || (part.empty() && slash != std::string_view::npos && slash + 1 < name.size())) {
      return false;
    }
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  return true;
}

}  // namespace berth::runtime::kube::copyops
