#pragma once
// Tar headers for archives Berth writes itself (docker save): ustar, with
// GNU base-256 sizes past ustar's 8 GiB and a PAX record for long names.
#include <cstdint>
#include <string>
#include <string_view>

namespace berth {

// The header block(s) of a regular file `name` of `size` bytes.
std::string tarFileHeader(std::string_view name, int64_t size, int64_t mtime, int mode = 0644);
// The header of a directory entry ("name/").
std::string tarDirHeader(std::string_view name, int64_t mtime, int mode = 0755);
// Any entry: type '0' file, '5' directory ("name/"), '2' symlink, '1'
// hardlink (linkname the target), with owner and mode (docker cp).
struct TarEntry {
  std::string name;
  char type = '0';
  int64_t size = 0;
  int64_t mtime = 0;
  int mode = 0644;
  uint32_t uid = 0, gid = 0;
  std::string linkname;
};
std::string tarHeader(const TarEntry& entry);

// Zero bytes that pad `size` bytes of data to the 512-byte block size.
std::string tarPadding(int64_t size);
// The two zero blocks that end an archive.
std::string tarEnd();

}  // namespace berth
