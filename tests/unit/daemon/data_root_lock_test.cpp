#include "daemon/data_root_lock.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace berth::daemon {
namespace {

TEST(DataRootLock, SecondHolderIsRefusedUntilRelease) {
  auto dir = std::filesystem::temp_directory_path() / ("berth-lock-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    auto first = DataRootLock::acquire(dir.string());
    ASSERT_TRUE(first.ok()) << first.status();
    auto second = DataRootLock::acquire(dir.string());
    EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(second.status().message(), "data root " + dir.string() + " is in use by another berth daemon (pid " +
                                             std::to_string(::getpid()) + ")");
  }
  EXPECT_TRUE(DataRootLock::acquire(dir.string()).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace berth::daemon
