#include "util/tar_writer.h"

#include <cstdio>
#include <cstring>

#include "util/strings.h"

namespace berth {
namespace {

// Zero-padded octal filling width-1 digits and a NUL; values too large keep
// their low digits (callers pass ids and modes that fit).
void octal(char* field, size_t width, uint64_t v) {
  field[width - 1] = '\0';
  for (size_t i = width - 1; i-- > 0;) {
    field[i] = char('0' + (v & 7));
    v >>= 3;
  }
}

std::string block(std::string_view name, char type, int64_t size, int64_t mtime, int mode, uint32_t uid = 0,
                  uint32_t gid = 0, std::string_view linkname = {}) {
  char h[512] = {};
  std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
  octal(h + 100, 8, uint64_t(mode));
  octal(h + 108, 8, uid);
  octal(h + 116, 8, gid);
  if (!linkname.empty()) std::memcpy(h + 157, linkname.data(), std::min<size_t>(linkname.size(), 100));
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
  if (uid == 0) std::memcpy(h + 265, "root", 4);
  if (gid == 0) std::memcpy(h + 297, "root", 4);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  return std::string(h, 512);
}

// One PAX record "<len> key=value\n"; the length prefix counts itself.
std::string paxRecord(std::string_view key, std::string_view value) {
  std::string record = strCat(" ", key, "=", value, "\n");
  size_t len = record.size() + 1;
  while (std::to_string(len).size() + record.size() != len) ++len;
  return strCat(len, record);
}

std::string paxBlock(const std::string& records, int64_t mtime) {
  return block("PaxHeader", 'x', int64_t(records.size()), mtime, 0644) + records + tarPadding(int64_t(records.size()));
}

// A PAX extended header carrying `path` for names over 100 bytes.
std::string paxPath(std::string_view name, int64_t mtime) { return paxBlock(paxRecord("path", name), mtime); }

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

std::string tarHeader(const TarEntry& e) {
  std::string records;
  if (e.name.size() > 100) records += paxRecord("path", e.name);
  if (e.linkname.size() > 100) records += paxRecord("linkpath", e.linkname);
  std::string out = records.empty() ? std::string() : paxBlock(records, e.mtime);
  return out + block(e.name, e.type, e.type == '0' ? e.size : 0, e.mtime, e.mode, e.uid, e.gid, e.linkname);
}

std::string tarPadding(int64_t size) { return std::string(size_t((512 - size % 512) % 512), '\0'); }

std::string tarEnd() { return std::string(1024, '\0'); }

}  // namespace berth
