#include "runtime/kube/bind_source.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace berth::runtime::kube {
namespace {

namespace fs = std::filesystem;

class BindSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("berth-bind-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    fs::create_directories(base_ / "root/site/sub");
    fs::create_directories(base_ / "rootother");
    std::ofstream(base_ / "root/app.conf") << "port=1\n";
    ::chmod((base_ / "root/app.conf").c_str(), 0640);
    std::ofstream(base_ / "rootother/secret") << "token";
    fs::create_symlink("/etc", base_ / "root/escape");
    fs::create_symlink(base_ / "root", base_ / "link-to-root");
    auto roots = canonicalBindRoots({(base_ / "link-to-root").string()});
    ASSERT_TRUE(roots.ok()) << roots.status();
    roots_ = *roots;
  }
  void TearDown() override { fs::remove_all(base_); }
  std::string at(const char* p) const { return (base_ / p).string(); }

  fs::path base_;
  std::vector<std::string> roots_;
};

TEST_F(BindSourceTest, RootsAreRealPathsAndMustExist) {
  EXPECT_EQ(roots_, std::vector<std::string>{at("root")});
  EXPECT_EQ(canonicalBindRoots({at("nowhere")}).status().message(), "--bind-root " + at("nowhere") + ": No such file or directory");
  EXPECT_EQ(canonicalBindRoots({at("root/app.conf")}).status().message(), "--bind-root " + at("root/app.conf") + ": Not a directory");
}

TEST_F(BindSourceTest, DirectoriesAndFilesUnderARootOpen) {
  absl::StatusOr<BindSource> dir = openBindSource(at("link-to-root/site"), roots_, kConfigMapBytes);
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_TRUE(dir->directory);
  EXPECT_TRUE(dir->dir.valid());
  EXPECT_EQ(dir->realPath, at("root/site"));
  struct stat st {};
  ASSERT_EQ(::fstatat(dir->dir.get(), "sub", &st, 0), 0);  // the very directory, opened for reading
  EXPECT_TRUE(S_ISDIR(st.st_mode));

  absl::StatusOr<BindSource> file = openBindSource(at("root/app.conf"), roots_, kConfigMapBytes);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_FALSE(file->directory);
  EXPECT_EQ(file->content, "port=1\n");
  EXPECT_EQ(file->mode, 0640u);
  EXPECT_TRUE(openBindSource(at("root"), roots_, kConfigMapBytes).ok());  // the root itself
}

TEST_F(BindSourceTest, WhatIsOutsideTheRootsIsRefused) {
  // Through a symlink inside a root, by a name that only starts like a root, and with no root at all.
  EXPECT_EQ(openBindSource(at("root/escape/hostname"), roots_, kConfigMapBytes).status().message(),
            "bind source " + at("root/escape/hostname") + " (/etc/hostname) is outside the directories named by --bind-root: " +
                at("root"));
  EXPECT_EQ(openBindSource(at("rootother/secret"), roots_, kConfigMapBytes).status().message(),
            "bind source " + at("rootother/secret") + " (" + at("rootother/secret") +
                ") is outside the directories named by --bind-root: " + at("root"));
  EXPECT_EQ(openBindSource(at("root/app.conf"), {}, kConfigMapBytes).status().message(),
            "the kube backend copies host paths into pods only from the directories named by --bind-root, and none is set "
            "(bind source " + at("root/app.conf") + ")");
  EXPECT_EQ(openBindSource(at("root/missing"), roots_, kConfigMapBytes).status().message(),
            "invalid mount config for type \"bind\": bind source path does not exist: " + at("root/missing"));
}

TEST_F(BindSourceTest, SocketsAndLargeFilesAreRefused) {
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = at("root/docker.sock");
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  path.copy(addr.sun_path, path.size());
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(openBindSource(path, roots_, kConfigMapBytes).status().message(),
            "bind source " + path + " is neither a directory nor a regular file: the kube backend copies binds into the "
            "pod, and this cannot be copied");
  EXPECT_TRUE(isDockerSocketBind(path, "/var/run/api.sock"));
  EXPECT_TRUE(isDockerSocketBind("/var/run/docker.sock", "/x"));  // a remote client's default, absent here
  EXPECT_TRUE(isDockerSocketBind(at("root/site"), "/var/run/docker.sock"));
  EXPECT_FALSE(isDockerSocketBind(at("root/app.conf"), "/etc/app.conf"));
  EXPECT_FALSE(isDockerSocketBind(at("root/site"), "/srv/notdocker.sock"));
  ::close(s);
  EXPECT_EQ(openBindSource(at("root/app.conf"), roots_, 4).status().message(),
            "bind source " + at("root/app.conf") + " has 7 bytes: file binds reach the pod in one ConfigMap, which holds "
            "1 MiB in all (4 bytes left); bind its directory instead");
}

}  // namespace
}  // namespace berth::runtime::kube
