#include "util/version_compare.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(CompareVersions, Numeric) {
  EXPECT_LT(compareVersions("1.9", "1.24"), 0);
  EXPECT_GT(compareVersions("1.51", "1.9"), 0);
  EXPECT_EQ(compareVersions("1.51", "1.51"), 0);
  EXPECT_EQ(compareVersions("1.51", "1.51.0"), 0);
  EXPECT_LT(compareVersions("1", "1.24"), 0);
  EXPECT_GT(compareVersions("2.0", "1.99"), 0);
  EXPECT_LT(compareVersions("", "1.24"), 0);
}

}  // namespace
}  // namespace berth
