#include "util/strings.h"

#include <gtest/gtest.h>

#include "absl/status/status.h"

namespace berth {
namespace {

TEST(Strings, StrCatMixesTypes) {
  absl::Status s = absl::NotFoundError("gone");
  EXPECT_EQ(strCat("a", std::string("b"), std::string_view("c"), 'd', 42, -7, size_t{9}, ": ", s.message()),
            "abcd42-79: gone");
}

TEST(Strings, Split) {
  EXPECT_EQ(split("a,,b", ','), (std::vector<std::string_view>{"a", "", "b"}));
  EXPECT_EQ(split("a,,b", ',', true), (std::vector<std::string_view>{"a", "b"}));
  EXPECT_EQ(split("", ','), (std::vector<std::string_view>{""}));
  EXPECT_EQ(splitAny("a&b;c", "&;"), (std::vector<std::string_view>{"a", "b", "c"}));
  EXPECT_EQ(splitOnce("k=v=w", '='), (std::pair<std::string_view, std::string_view>{"k", "v=w"}));
  EXPECT_EQ(splitOnce("k", '='), (std::pair<std::string_view, std::string_view>{"k", ""}));
}

TEST(Strings, TrimLowerJoinPrefix) {
  EXPECT_EQ(trim(" \t x y \n"), "x y");
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(toLower("Application/JSON"), "application/json");
  EXPECT_EQ(join({"a", "b", "c"}, ", "), "a, b, c");
  std::string_view s = "unix:///x";
  EXPECT_TRUE(consumePrefix(s, "unix://"));
  EXPECT_EQ(s, "/x");
  EXPECT_FALSE(consumePrefix(s, "tcp://"));
  EXPECT_TRUE(consumeSuffix(s, "x"));
  EXPECT_EQ(s, "/");
}

TEST(Strings, ParseInt) {
  int v = 0;
  EXPECT_TRUE(parseInt("123", v));
  EXPECT_EQ(v, 123);
  EXPECT_TRUE(parseInt("-5", v));
  EXPECT_EQ(v, -5);
  EXPECT_FALSE(parseInt("", v));
  EXPECT_FALSE(parseInt("12a", v));
  EXPECT_FALSE(parseInt(" 1", v));
  EXPECT_FALSE(parseInt("99999999999", v));
}

}  // namespace
}  // namespace berth
