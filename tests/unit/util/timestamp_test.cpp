#include "util/timestamp.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Timestamp, ParsesApiForm) {
  EXPECT_EQ(toUnixNanos(*parseApiTimestamp("1700000000")), 1'700'000'000'000'000'000);
  EXPECT_EQ(toUnixNanos(*parseApiTimestamp("1700000000.5")), 1'700'000'000'500'000'000);
  EXPECT_EQ(toUnixNanos(*parseApiTimestamp("1700000000.000000001")), 1'700'000'000'000'000'001);
  EXPECT_EQ(toUnixNanos(*parseApiTimestamp("-1.5")), -1'500'000'000);
  EXPECT_EQ(toUnixNanos(*parseApiTimestamp("0")), 0);
}

TEST(Timestamp, RejectsOthers) {
  for (const char* bad : {"", "abc", "1.2.3", "1.", ".5", "1.0000000001", "2024-01-01T00:00:00Z", "10m",
                          "99999999999999999999"}) {
    EXPECT_EQ(parseApiTimestamp(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(Timestamp, Rfc3339Nano) {
  EXPECT_EQ(formatRfc3339Nano(fromUnixNanos(0)), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(formatRfc3339Nano(fromUnixNanos(1'700'000'000'123'456'789)), "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(formatRfc3339Nano(fromUnixNanos(-1)), "1969-12-31T23:59:59.999999999Z");
}

}  // namespace
}  // namespace berth
