#include "image/layer/unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tar_builder.h"
#include "util/digest.h"

namespace berth::layer {
namespace {

namespace fs = std::filesystem;
using testing::TarBuilder;

Source fromString(std::string data) {
  auto state = std::make_shared<std::pair<std::string, size_t>>(std::move(data), 0);
  return [state](char* buf, size_t cap) -> absl::StatusOr<size_t> {
    size_t n = std::min(cap, state->first.size() - state->second);
    std::memcpy(buf, state->first.data() + state->second, n);
    state->second += n;
    return n;
  };
}

std::string gzip(std::string_view data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = uInt(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string zstd(std::string_view data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3));
  return out;
}

class UnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("berth-unpack-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    fs::create_directories(base_ / "root");
    fs::create_directories(base_ / "outside");
    rootFd_ = ::open((base_ / "root").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    options_.chown = ::geteuid() == 0;
    options_.xattrs = ::geteuid() == 0 ? OverlayXattrs::Trusted : OverlayXattrs::User;
  }
  void TearDown() override {
    ::close(rootFd_);
    fs::remove_all(base_);
  }
  absl::StatusOr<UnpackResult> unpack(const std::string& tar, oci::Compression c = oci::Compression::None) {
    return unpackLayer(fromString(tar), c, rootFd_, options_);
  }
  fs::path root() const { return base_ / "root"; }
  bool outsideEmpty() const { return fs::is_empty(base_ / "outside") && !fs::exists(base_ / "evil"); }

  fs::path base_;
  int rootFd_ = -1;
  UnpackOptions options_;
};

TEST_F(UnpackTest, RegularTreeAndDiffId) {
  std::string tar = TarBuilder()
                        .dir("etc/")
                        .file("etc/hostname", "box\n", 0600)
                        .symlink("etc/link", "hostname")
                        .hardlink("etc/hard", "etc/hostname")
                        .fifo("run.fifo")
                        .dir("ro/", 0555)
                        .file("ro/inside", "x")
                        .finish();
  auto r = unpack(tar);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->diffId, sha256Digest(tar));
  EXPECT_EQ(r->size, 5);
  std::ifstream f(root() / "etc/hostname");
  std::string content((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(content, "box\n");
  EXPECT_EQ(fs::status(root() / "etc/hostname").permissions(), fs::perms(0600));
  EXPECT_EQ(fs::read_symlink(root() / "etc/link"), "hostname");
  EXPECT_EQ(fs::hard_link_count(root() / "etc/hostname"), 2u);
  EXPECT_TRUE(fs::is_fifo(root() / "run.fifo"));
  EXPECT_EQ(fs::status(root() / "ro").permissions(), fs::perms(0555));
  EXPECT_TRUE(fs::exists(root() / "ro/inside"));
  struct stat st {};
  ASSERT_EQ(::stat((root() / "etc/hostname").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
}

TEST_F(UnpackTest, GzipAndZstdGiveTheUncompressedDiffId) {
  std::string tar = TarBuilder().file("a", std::string(100000, 'a')).finish();
  for (auto [data, c] : {std::pair{gzip(tar), oci::Compression::Gzip}, std::pair{zstd(tar), oci::Compression::Zstd}}) {
    fs::remove_all(root() / "a");
    auto r = unpack(data, c);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->diffId, sha256Digest(tar));
    EXPECT_EQ(fs::file_size(root() / "a"), 100000u);
  }
}

TEST_F(UnpackTest, TruncatedGzipIsDataLoss) {
  std::string gz = gzip(TarBuilder().file("a", std::string(100000, 'a')).finish());
  auto r = unpack(gz.substr(0, gz.size() / 2), oci::Compression::Gzip);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(UnpackTest, WhiteoutsBecomeOverlayForm) {
  std::string tar = TarBuilder()
                        .dir("data/")
                        .file("data/.wh.gone", "")
                        .dir("data/opaque/")
                        .file("data/opaque/.wh..wh..opq", "")
                        .file("data/.wh..wh.plnk", "")
                        .finish();
  auto r = unpack(tar);
  ASSERT_TRUE(r.ok()) << r.status();
  struct stat st {};
  ASSERT_EQ(::lstat((root() / "data/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char value[4] = {};
  const char* attr = ::geteuid() == 0 ? "trusted.overlay.opaque" : "user.overlay.opaque";
  ASSERT_EQ(::getxattr((root() / "data/opaque").c_str(), attr, value, sizeof(value)), 1);
  EXPECT_EQ(value[0], 'y');
  EXPECT_FALSE(fs::exists(root() / "data/.wh..wh.plnk"));
  EXPECT_EQ(r->skipped, 1);
}

TEST_F(UnpackTest, BareWhiteoutIsRefused) {
  auto r = unpack(TarBuilder().dir("d/").file("d/.wh.", "").finish());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("names no file"), std::string::npos);
}

TEST_F(UnpackTest, DotDotEscapeIsRefused) {
  auto r = unpack(TarBuilder().file("a/../../evil", "x").finish());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(outsideEmpty());
}

TEST_F(UnpackTest, AbsoluteNamesStayInside) {
  auto r = unpack(TarBuilder().file("/abs/file", "x").finish());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(fs::exists(root() / "abs/file"));
}

TEST_F(UnpackTest, SymlinkedParentStaysInside) {
  // "escape" points at the real outside directory: seen from inside the
  // root that path does not exist, so the file cannot be placed.
  std::string target = (base_ / "outside").string();
  auto r = unpack(TarBuilder().symlink("escape", target).file("escape/pwned", "x").finish());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(outsideEmpty());
  // Relative climbs stop at the root; absolute targets resolve inside it.
  auto r2 = unpack(TarBuilder().symlink("up", "../../..").file("up/evil", "x").dir("etc/").symlink("etc2", "/etc")
                       .file("etc2/x", "y").finish());
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_TRUE(outsideEmpty());
  EXPECT_TRUE(fs::is_regular_file(root() / "evil"));
  EXPECT_TRUE(fs::is_regular_file(root() / "etc/x"));
}

TEST_F(UnpackTest, HardlinkOutsideIsRefused) {
  auto r = unpack(TarBuilder().hardlink("h", "../outside/x").finish());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  auto r2 = unpack(TarBuilder().hardlink("h", "/etc/passwd").finish());
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("missing"), std::string::npos);
  EXPECT_FALSE(fs::exists(root() / "h"));
}

TEST_F(UnpackTest, DeviceNodesAreSkipped) {
  auto r = unpack(TarBuilder().charDevice("dev-null", 1, 3).finish());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(fs::exists(root() / "dev-null"));
  EXPECT_EQ(r->skipped, 1);
}

TEST_F(UnpackTest, DecompressionBombIsStopped) {
  options_.maxBytes = 1 << 20;
  std::string gz = gzip(TarBuilder().file("zeros", std::string(8 << 20, '\0')).finish());
  EXPECT_LT(gz.size(), 64u << 10);
  auto r = unpack(gz, oci::Compression::Gzip);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(UnpackTest, LaterEntriesReplaceEarlierOnes) {
  auto r = unpack(TarBuilder().dir("x/").file("x/in", "1").file("x", "now a file").finish());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(fs::is_regular_file(root() / "x"));
}

TEST_F(UnpackTest, GarbageIsDataLoss) {
  auto r = unpack(std::string(2048, 'z'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
}

TEST(CleanMemberName, Lexical) {
  EXPECT_EQ(*cleanMemberName("./a//b/./c/"), "a/b/c");
  EXPECT_EQ(*cleanMemberName("/abs/x"), "abs/x");
  EXPECT_EQ(*cleanMemberName("a/../b"), "b");
  EXPECT_EQ(*cleanMemberName("./"), "");
  EXPECT_FALSE(cleanMemberName("../x").has_value());
  EXPECT_FALSE(cleanMemberName("a/../../x").has_value());
}

}  // namespace
}  // namespace berth::layer
