#include "util/tar_writer.h"

#include <cstdio>
#include <cstring>

#include "util/strings.h"

namespace berth {
namespace {

void octal(char* field, size_t width, uint64_t v) { std::snprintf(field, width, "%0*llo", int(width - 1), (unsigned long long)v); }

std::string block(std::string_view name, char type, int64_t size, int64_t mtime, int mode) {
  char h[512] = {};
  std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
  octal(h + 100, 8, uint64_t(mode));
  octal(h + 108, 8, 0);
  octal(h + 116, 8, 0);
  if (size < (int64_t(1) << 33)) {
    octal(h + 124, 12, uint64_t(size));
  } else {
    // GNU base-256: high bit set, big-endian value in the remaining bytes.
    h[124] = char(0x80);
    for (int i = 0; i < 8; ++i) h[135 - i] = char((uint64_t(size) >> (8 * i)) & 0xff);
  }
  octal(h + 136, 12, uint64_t(mtime));
  h[156] = type;
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memcpy(h + 265, "root", 4);
  std::memcpy(h + 297, "root", 4);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  return std::string(h, 512);
}

// A PAX extended header carrying `path` for names over 100 bytes.
std::string paxPath(std::string_view name, int64_t mtime) {
  std::string record = strCat(" path=", name, "\n");
  // The record's length prefix counts itself.
  size_t len = record.size() + 1;
  while (std::to_string(len).size() + record.size() != len) ++len;
  record = strCat(len, record);
  return block("PaxHeader", 'x', int64_t(record.size()), mtime, 0644) + record + tarPadding(int64_t(record.size()));
}

std::string header(std::string_view name, char type, int64_t size, int64_t mtime, int mode) {
  std::string out;
  if (name.size() > 100) out = paxPath(name, mtime);
  return out + block(name, type, size, mtime, mode);
}

}  // namespace

std::string tarFileHeader(std::string_view name, int64_t size, int64_t mtime, int mode) {
  return header(name, '0', size, mtime, mode);
}

std::string tarDirHeader(std::string_view name, int64_t mtime, int mode) {
  std::string n(name);
  if (!n.ends_with('/')) n.push_back('/');
  return header(n, '5', 0, mtime, mode);
}

std::string tarPadding(int64_t size) { return std::string(size_t((512 - size % 512) % 512), '\0'); }

std::string tarEnd() { return std::string(1024, '\0'); }

}  // namespace berth
