#include "util/rooted_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace berth {
namespace {

namespace fs = std::filesystem;

std::string readAll(int fd) {
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// A tree laid out like a hostile image layer, next to a "host" file outside it.
class RootedFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("berth-rooted-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    root_ = base_ / "root";
    fs::create_directories(root_ / "etc");
    fs::create_directories(root_ / "a/b");
    std::ofstream(root_ / "etc/passwd") << "inside\n";
    std::ofstream(base_ / "host-secret") << "outside\n";
    fs::create_symlink("/etc", root_ / "abs-etc");                     // absolute symlink
    fs::create_symlink("../../../../../..", root_ / "a/b/up");          // climbs far
    fs::create_symlink((base_ / "host-secret").string(), root_ / "direct");  // absolute to a host path
    fs::create_symlink("/proc/self/root", root_ / "magic");            // a magic link
    rootFd_.reset(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(rootFd_.valid());
  }
  void TearDown() override { fs::remove_all(base_); }

  fs::path base_, root_;
  UniqueFd rootFd_;
};

TEST_F(RootedFsTest, SymlinksAndDotDotResolveInsideTheRoot) {
  for (const char* path : {"etc/passwd", "/etc/passwd", "abs-etc/passwd", "a/b/up/etc/passwd", "../../etc/passwd",
                           "a/../../../etc/passwd"}) {
    auto fd = openInRoot(rootFd_.get(), path, O_RDONLY);
    ASSERT_TRUE(fd.ok()) << path << ": " << fd.status();
    EXPECT_EQ(readAll(fd->get()), "inside\n") << path;
  }
  // The host file is out of reach: its absolute path resolves under the root.
  EXPECT_EQ(openInRoot(rootFd_.get(), "direct", O_RDONLY).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(openInRoot(rootFd_.get(), (base_ / "host-secret").string(), O_RDONLY).status().code(),
            absl::StatusCode::kNotFound);
  // /proc/self/root inside the root is not the host's proc, and magic links are refused anyway.
  EXPECT_FALSE(openInRoot(rootFd_.get(), "magic/etc/passwd", O_RDONLY).ok());
}

TEST_F(RootedFsTest, CreatingThroughASymlinkedParentStaysInside) {
  // A layer that plants "abs-etc -> /etc" and then writes "abs-etc/evil".
  auto entry = openParentInRoot(rootFd_.get(), "abs-etc/evil", /*create=*/false);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->name, "evil");
  int fd = ::openat(entry->dir.get(), entry->name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_TRUE(fs::exists(root_ / "etc/evil"));
  EXPECT_FALSE(fs::exists("/etc/evil"));

  auto created = openInRoot(rootFd_.get(), "a/b/up/new-file", O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(fs::exists(root_ / "new-file"));
  EXPECT_FALSE(fs::exists(base_ / "new-file"));
}

TEST_F(RootedFsTest, MkdirAllFollowsLinksLikeTheContainer) {
  ASSERT_TRUE(mkdirAllInRoot(rootFd_.get(), "/x/y/z", 0755).ok());
  EXPECT_TRUE(fs::is_directory(root_ / "x/y/z"));
  // "abs-etc" means the root's /etc even when met below the top.
  fs::create_symlink("/etc", root_ / "x/link");
  ASSERT_TRUE(mkdirAllInRoot(rootFd_.get(), "x/link/sub", 0755).ok());
  EXPECT_TRUE(fs::is_directory(root_ / "etc/sub"));
  ASSERT_TRUE(mkdirAllInRoot(rootFd_.get(), "a/b/up/top", 0755).ok());
  EXPECT_TRUE(fs::is_directory(root_ / "top"));
  EXPECT_FALSE(fs::exists(base_ / "top"));
  auto notDir = mkdirAllInRoot(rootFd_.get(), "etc/passwd/sub", 0755);
  EXPECT_EQ(notDir.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(RootedFsTest, ParentEntryNames) {
  auto e = openParentInRoot(rootFd_.get(), "/q/r/file.txt/", /*create=*/true);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->name, "file.txt");
  EXPECT_TRUE(fs::is_directory(root_ / "q/r"));
  auto top = openParentInRoot(rootFd_.get(), "plain", /*create=*/false);
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->name, "plain");
  for (const char* bad : {"", "/", ".", "a/..", "a/."}) {
    EXPECT_EQ(openParentInRoot(rootFd_.get(), bad, false).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(openParentInRoot(rootFd_.get(), "missing/x", false).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace berth
