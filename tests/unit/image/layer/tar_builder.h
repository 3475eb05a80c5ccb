#pragma once
// Builds ustar archives byte by byte for unpack tests, including entries no
// well-behaved tool would write (names with "..", links out of the root).
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace berth::layer::testing {

class TarBuilder {
 public:
  TarBuilder& file(std::string_view name, std::string_view data, int mode = 0644) {
    header(name, '0', data.size(), mode, "");
    out_.append(data);
    pad();
    return *this;
  }
  TarBuilder& dir(std::string_view name, int mode = 0755) { return entry(name, '5', mode, ""); }
  TarBuilder& symlink(std::string_view name, std::string_view target) { return entry(name, '2', 0777, target); }
  TarBuilder& hardlink(std::string_view name, std::string_view target) { return entry(name, '1', 0644, target); }
  TarBuilder& charDevice(std::string_view name, int major, int minor) {
    header(name, '3', 0, 0666, "", major, minor);
    return *this;
  }
  TarBuilder& fifo(std::string_view name) { return entry(name, '6', 0644, ""); }
  std::string finish() {
    out_.append(1024, '\0');
    return out_;
  }

 private:
  TarBuilder& entry(std::string_view name, char type, int mode, std::string_view link) {
    header(name, type, 0, mode, link);
    return *this;
  }
  void pad() { out_.append((512 - out_.size() % 512) % 512, '\0'); }
  static void octal(char* field, size_t width, unsigned long long v) {
    std::snprintf(field, width, "%0*llo", int(width - 1), v);
  }
  void header(std::string_view name, char type, size_t size, int mode, std::string_view link, int major = 0,
              int minor = 0) {
    char h[512] = {};
    std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
    octal(h + 100, 8, mode);
    octal(h + 108, 8, 0);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, size);
    octal(h + 136, 12, 1700000000);
    h[156] = type;
    std::memcpy(h + 157, link.data(), std::min<size_t>(link.size(), 100));
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    octal(h + 329, 8, major);
    octal(h + 337, 8, minor);
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(h + 148, 8, "%06o", sum);
    h[155] = ' ';
    out_.append(h, 512);
  }
  std::string out_;
};

}  // namespace berth::layer::testing
