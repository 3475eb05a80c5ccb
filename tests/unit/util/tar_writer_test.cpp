#include "util/tar_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>

#include "image/layer/unpack.h"

namespace berth {
namespace {

namespace fs = std::filesystem;

TEST(TarWriter, HeadersAreValidUstar) {
  std::string h = tarFileHeader("blobs/sha256/abc", 1234, 1700000000);
  ASSERT_EQ(h.size(), 512u);
  EXPECT_EQ(h.substr(257, 5), "ustar");
  EXPECT_EQ(h[156], '0');
  EXPECT_EQ(h.substr(124, 11), "00000002322");  // 1234 in octal
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
  EXPECT_EQ(std::strtoul(h.substr(148, 6).c_str(), nullptr, 8), sum);
  EXPECT_EQ(tarPadding(1234).size(), 302u);
  EXPECT_EQ(tarPadding(1024).size(), 0u);
  // Past ustar's 8 GiB: GNU base-256.
  std::string big = tarFileHeader("big", int64_t(1) << 34, 0);
  EXPECT_EQ(static_cast<unsigned char>(big[124]), 0x80);
  // A long name gets a PAX record first.
  std::string longName(150, 'n');
  EXPECT_EQ(tarFileHeader(longName, 1, 0).size(), 512u * 3);
}

TEST(TarWriter, ReadBackByTheUnpacker) {
  fs::path dir = fs::temp_directory_path() / ("berth-tarw-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string longName = "d/" + std::string(120, 'x');
  std::string tar = tarDirHeader("d", 0) + tarFileHeader(longName, 5, 0) + "hello" + tarPadding(5) + tarEnd();
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  auto data = std::make_shared<std::string>(tar);
  size_t pos = 0;
  auto r = layer::unpackLayer(
      [&](char* buf, size_t cap) -> absl::StatusOr<size_t> {
        size_t n = std::min(cap, data->size() - pos);
        std::memcpy(buf, data->data() + pos, n);
        pos += n;
        return n;
      },
      oci::Compression::None, fd, layer::UnpackOptions{});
  ::close(fd);
  ASSERT_TRUE(r.ok()) << r.status();
  std::ifstream f(dir / longName);
  std::string content((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(content, "hello");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace berth

namespace berth {
namespace {

TEST(TarHeader, SymlinkOwnerAndLongLinkname) {
  TarEntry e;
  e.name = "dir/link";
  e.type = '2';
  e.linkname = std::string(150, 'x');
  e.uid = 1234;
  e.gid = 42;
  e.mode = 0777;
  std::string h = tarHeader(e);
  ASSERT_EQ(h.size() % 512, 0u);
  ASSERT_EQ(h.size(), 3u * 512);  // PAX header, its records, the entry
  EXPECT_NE(h.find("linkpath=" + std::string(150, 'x')), std::string::npos);
  std::string entry = h.substr(1024);
  EXPECT_EQ(entry[156], '2');
  EXPECT_EQ(entry.substr(108, 7), "0002322");  // 1234 in octal
  EXPECT_EQ(entry.substr(116, 7), "0000052");
  EXPECT_EQ(entry.substr(265, 4), std::string(4, '\0'));  // no "root" name for uid 1234
}

}  // namespace
}  // namespace berth
