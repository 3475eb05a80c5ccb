#include "api/httputil/json_body.h"

#include <gtest/gtest.h>

namespace berth::api::httputil {
namespace {

TEST(JsonBody, Parses) {
  auto j = parseJsonBody(R"( {"Image":"busybox","Cmd":["true"]} )");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["Image"], "busybox");
}

TEST(JsonBody, DockerdTexts) {
  EXPECT_EQ(parseJsonBody("   ").status().message(), "invalid JSON: got EOF while reading request body");
  EXPECT_EQ(parseJsonBody("{} {}").status().message(), "unexpected content after JSON");
  auto bad = parseJsonBody("{bad");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(std::string(bad.status().message()).starts_with("invalid JSON: parse error at line 1, column 2"))
      << bad.status();
  // Found by fuzzing: numbers too large for a double are invalid, not fatal.
  EXPECT_EQ(parseJsonBody("1e999999").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::api::httputil
