#include "runtime/user.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

namespace fs = std::filesystem;

class UserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("berth-user-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "etc");
    std::ofstream(root_ / "etc/passwd") << "# comment\n"
                                           "root:x:0:0:root:/root:/bin/sh\n"
                                           "app:x:1000:1000::/home/app:/bin/sh\n"
                                           "broken line\n"
                                           "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
    std::ofstream(root_ / "etc/group") << "root:x:0:\n"
                                          "app:x:1000:\n"
                                          "audio:x:29:app,other\n"
                                          "video:x:44: app \n"
                                          "staff:x:50:\n";
    fd_ = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  void TearDown() override {
    ::close(fd_);
    fs::remove_all(root_);
  }
  fs::path root_;
  int fd_ = -1;
};

TEST_F(UserTest, RunsRules) {
  auto root = resolveUser(fd_, "", {});
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->home, "/root");

  auto app = resolveUser(fd_, "app", {});
  ASSERT_TRUE(app.ok()) << app.status();
  EXPECT_EQ(app->uid, 1000u);
  EXPECT_EQ(app->gid, 1000u);
  EXPECT_EQ(app->home, "/home/app");
  EXPECT_EQ(app->additionalGids, (std::vector<uint32_t>{29, 44}));

  auto byId = resolveUser(fd_, "1000", {});
  EXPECT_EQ(byId->gid, 1000u);
  auto unknownId = resolveUser(fd_, "4242", {});
  ASSERT_TRUE(unknownId.ok());
  EXPECT_EQ(unknownId->gid, 0u);
  EXPECT_EQ(unknownId->uid, 4242u);
  EXPECT_EQ(unknownId->home, "/");

  auto withGroup = resolveUser(fd_, "app:staff", {"audio", "7"});
  ASSERT_TRUE(withGroup.ok());
  EXPECT_EQ(withGroup->gid, 50u);
  EXPECT_EQ(withGroup->additionalGids, (std::vector<uint32_t>{29, 7}));
  EXPECT_EQ(resolveUser(fd_, "5:6", {})->gid, 6u);
}

TEST_F(UserTest, Errors) {
  EXPECT_EQ(resolveUser(fd_, "ghost", {}).status().message(), "unable to find user ghost: no matching entries in passwd file");
  EXPECT_EQ(resolveUser(fd_, "app:ghosts", {}).status().message(),
            "unable to find group ghosts: no matching entries in group file");
  EXPECT_EQ(resolveUser(fd_, "", {"nogroup"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(resolveUser(fd_, "4294967295", {}).status().message(), "uids and gids must be in range 0-2147483647");
  EXPECT_EQ(resolveUser(fd_, "1:99999999999", {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(UserTest, FilesAreReadInsideTheRoot) {
  // A symlinked /etc/passwd pointing at the host's file resolves inside the root.
  fs::remove(root_ / "etc/passwd");
  fs::create_symlink("/etc/passwd", root_ / "etc/passwd");  // i.e. itself: a loop, no file
  EXPECT_EQ(resolveUser(fd_, "root", {}).status().code(), absl::StatusCode::kInvalidArgument);
  fs::remove(root_ / "etc/passwd");
  auto none = resolveUser(fd_, "", {});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->uid, 0u);
  EXPECT_EQ(none->home, "/");
}

TEST(PasswdParsing, SkipsMalformed) {
  auto p = parsePasswd("a:x:1:2:g:/h:/s\nb:x:notanumber:2::/:\nc:x:3:4\n\n");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].home, "/h");
  EXPECT_EQ(p[1].name, "c");
  auto g = parseGroup("g:x:5:a,b,\nbad\nh:x:6\n");
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].members, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace berth::runtime
