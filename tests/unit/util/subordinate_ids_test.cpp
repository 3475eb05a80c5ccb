#include "util/subordinate_ids.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(SubordinateIds, MatchesNameOrNumericIdInFileOrder) {
  std::string text =
      "# comment\n"
      "alice:100000:65536\n"
      "bob:165536:65536\n"
      "1000:300000:10\n"
      "\n"
      "alice:500000:5\n";
  auto r = subordinateIds(text, "alice", 1000);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].start, 100000u);
  EXPECT_EQ(r[0].count, 65536u);
  EXPECT_EQ(r[1].start, 300000u);
  EXPECT_EQ(r[1].count, 10u);
  EXPECT_EQ(r[2].start, 500000u);
  EXPECT_EQ(r[2].count, 5u);
}

TEST(SubordinateIds, SkipsMalformedAndEmptyRanges) {
  std::string text = "carol:1:2:3\ncarol:x:5\ncarol:10:0\ncarol:-1:5\ncarol:7:8";
  auto r = subordinateIds(text, "carol", 42);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].start, 7u);
  EXPECT_EQ(r[0].count, 8u);
  EXPECT_TRUE(subordinateIds(text, "dave", 43).empty());
  EXPECT_TRUE(subordinateIds("", "carol", 42).empty());
}

}  // namespace
}  // namespace berth
