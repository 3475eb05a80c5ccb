#include "util/tree_copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "util/unique_fd.h"

namespace berth {
namespace {

namespace fs = std::filesystem;

TEST(TreeCopy, CopiesFilesDirectoriesAndSymlinksWithTheirModesAndTimes) {
  fs::path base = fs::temp_directory_path() / ("berth-tree-copy-" + std::to_string(::getpid()));
  fs::remove_all(base);
  fs::create_directories(base / "src" / "etc" / "app");
  fs::create_directories(base / "dst");
  std::ofstream(base / "src" / "etc" / "app" / "app.conf") << "port=80\n";
  ::chmod((base / "src" / "etc" / "app" / "app.conf").c_str(), 0640);
  ::chmod((base / "src" / "etc" / "app").c_str(), 0750);
  // Absolute and escaping links are copied as links, never followed.
  fs::create_symlink("/etc/passwd", base / "src" / "passwd");
  fs::create_symlink("../../outside", base / "src" / "etc" / "up");
  ASSERT_EQ(::mkfifo((base / "src" / "pipe").c_str(), 0600), 0);
  const struct timespec old[2] = {{1'000'000'000, 0}, {1'000'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (base / "src" / "etc" / "app" / "app.conf").c_str(), old, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, (base / "src" / "etc" / "app").c_str(), old, 0), 0);

  UniqueFd src(::open((base / "src").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd dst(::open((base / "dst").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(copyDirContents(src.get(), dst.get())) << strerror(errno);

  std::ifstream conf(base / "dst" / "etc" / "app" / "app.conf");
  std::string text((std::istreambuf_iterator<char>(conf)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "port=80\n");
  struct stat st {};
  ASSERT_EQ(::stat((base / "dst" / "etc" / "app" / "app.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'000'000'000);
  ASSERT_EQ(::stat((base / "dst" / "etc" / "app").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'000'000'000);  // set after its contents
  EXPECT_EQ(fs::read_symlink(base / "dst" / "passwd"), "/etc/passwd");
  EXPECT_EQ(fs::read_symlink(base / "dst" / "etc" / "up"), "../../outside");
  EXPECT_FALSE(fs::exists(fs::symlink_status(base / "dst" / "pipe")));  // fifos are left out
  EXPECT_FALSE(fs::exists(base / "outside"));
  // A second copy into the same place (two starts at once) keeps what is there.
  std::ofstream(base / "dst" / "etc" / "app" / "app.conf", std::ios::trunc) << "changed\n";
  ASSERT_TRUE(copyDirContents(src.get(), dst.get())) << strerror(errno);
  std::ifstream again(base / "dst" / "etc" / "app" / "app.conf");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>()), "changed\n");
  fs::remove_all(base);
}

}  // namespace
}  // namespace berth
