#include "runtime/kube/copy_ops.h"

#include <gtest/gtest.h>

namespace berth::runtime::kube::copyops {
namespace {

TEST(CopyOps, HeaderRoundTripsBigEndian) {
  Entry e;
  e.type = kSymlink;
  e.mode = 04755;
  e.uid = 70000;
  e.gid = 3;
  e.mtime = 1700000000;
  e.size = (1ull << 33) + 5;
  e.name = "dir/link";
  e.link = "../target";
  std::string h = encodeHeader(e);
  ASSERT_EQ(h.size(), kHeaderSize + e.name.size() + e.link.size());
  EXPECT_EQ(h.substr(4, 4), std::string("\0\0\x09\xed", 4));  // 04755, big-endian
  Entry d;
  uint32_t nameLen = 0, linkLen = 0;
  ASSERT_TRUE(decodeHeader(h, d, nameLen, linkLen));
  EXPECT_EQ((d.type == kSymlink), true);
  EXPECT_EQ(d.mode, 04755u);
  EXPECT_EQ(d.uid, 70000u);
  EXPECT_EQ(d.gid, 3u);
  EXPECT_EQ(d.mtime, 1700000000);
  EXPECT_EQ(d.size, (1ull << 33) + 5);
  EXPECT_EQ(nameLen, 8u);
  EXPECT_EQ(linkLen, 9u);
  std::string bad = h;
  bad[0] = 'x';  // no such type
  EXPECT_FALSE(decodeHeader(bad, d, nameLen, linkLen));
  e.name = std::string(kMaxName + 1, 'a');
  EXPECT_FALSE(decodeHeader(encodeHeader(e), d, nameLen, linkLen));
}

TEST(CopyOps, SafeNamesStayBelowTheDirectory) {
  for (const char* ok : {"a", "a/b", "dir/", "a/b.c/..d", ".hidden"}) EXPECT_TRUE(safeName(ok)) << ok;
  for (const char* bad : {"", "/a", "..", "../a", "a/..", "a/../b", ".", "./a", "a/./b", "a//b"}) {
    EXPECT_FALSE(safeName(bad)) << bad;
  }
}

}  // namespace
}  // namespace berth::runtime::kube::copyops
