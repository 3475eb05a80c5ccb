#include "store/snapshot_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "util/digest.h"

namespace berth::store {
namespace {

namespace fs = std::filesystem;

class SnapshotStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("berth-snap-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(SnapshotStoreTest, CommitPublishesWholeTree) {
  auto s = SnapshotStore::open(dir_.string());
  ASSERT_TRUE(s.ok()) << s.status();
  std::string chain = sha256Digest("chain");
  auto ingest = (*s)->prepare();
  ASSERT_TRUE(ingest.ok());
  int fd = ::openat((*ingest)->fsFd(), "file", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_FALSE((*s)->exists(chain));
  ASSERT_TRUE((*s)->commit(**ingest, {chain, sha256Digest("diff"), 42}).ok());
  EXPECT_TRUE((*s)->exists(chain));
  auto info = (*s)->info(chain);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->diffId, sha256Digest("diff"));
  EXPECT_EQ(info->size, 42);
  EXPECT_TRUE(fs::exists(*(*s)->fsPath(chain) + "/file"));
  EXPECT_EQ(*(*s)->list(), std::vector<std::string>{chain});

  // A second ingest of the same chain id loses the race and is discarded.
  auto again = (*s)->prepare();
  std::string path = (*again)->path();
  EXPECT_EQ((*s)->commit(**again, {chain, sha256Digest("diff"), 42}).code(), absl::StatusCode::kAlreadyExists);
  again->reset();
  EXPECT_FALSE(fs::exists(path));

  ASSERT_TRUE((*s)->remove(chain).ok());
  EXPECT_FALSE((*s)->exists(chain));
  EXPECT_TRUE(fs::is_empty(dir_ / "trash"));
}

TEST_F(SnapshotStoreTest, LeftoversOfACrashAreClearedAtOpen) {
  fs::create_directories(dir_ / "ingest/abc/fs/deep");
  fs::create_directories(dir_ / "trash/def/fs");
  fs::permissions(dir_ / "ingest/abc/fs/deep", fs::perms(0500));
  auto s = SnapshotStore::open(dir_.string());
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(fs::is_empty(dir_ / "ingest"));
  EXPECT_TRUE(fs::is_empty(dir_ / "trash"));
}

TEST_F(SnapshotStoreTest, MalformedChainIdIsRefused) {
  auto s = SnapshotStore::open(dir_.string());
  EXPECT_FALSE((*s)->exists("sha256:../../etc"));
  EXPECT_EQ((*s)->remove("../x").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::store
