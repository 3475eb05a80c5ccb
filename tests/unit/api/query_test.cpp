#include "api/httputil/query.h"

#include <gtest/gtest.h>

namespace berth::api::httputil {
namespace {

TEST(Query, DecodesAndKeepsRepeats) {
  auto q = Query::parse("a=1&b=x%20y&a=2&c=p+q&empty=&flag");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->getOr("a", ""), "1");
  EXPECT_EQ(q->all("a"), (std::vector<std::string_view>{"1", "2"}));
  EXPECT_EQ(q->getOr("b", ""), "x y");
  EXPECT_EQ(q->getOr("c", ""), "p q");
  EXPECT_TRUE(q->has("empty"));
  EXPECT_TRUE(q->has("flag"));
  EXPECT_FALSE(q->has("missing"));
}

TEST(Query, BadEscapeIsInvalidArgument) {
  EXPECT_EQ(Query::parse("a=%zz").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Query::parse("a=%4").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Query::parse("a=%").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Query, BoolValueAsDockerd) {
  auto q = Query::parse("t1=1&t2=true&t3=yes&t4=anything&f1=0&f2=false&f3=no&f4=none&f5=&f6=FALSE");
  ASSERT_TRUE(q.ok());
  for (const char* k : {"t1", "t2", "t3", "t4"}) EXPECT_TRUE(q->boolValue(k)) << k;
  for (const char* k : {"f1", "f2", "f3", "f4", "f5", "f6", "absent"}) EXPECT_FALSE(q->boolValue(k)) << k;
}

TEST(Query, IntValue) {
  auto q = Query::parse("n=42&neg=-3&bad=4x&blank=");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->intValue("n")->value(), 42);
  EXPECT_EQ(q->intValue("neg")->value(), -3);
  EXPECT_FALSE(q->intValue("blank")->has_value());
  EXPECT_FALSE(q->intValue("absent")->has_value());
  EXPECT_EQ(q->intValue("bad").status().message(), "invalid value for bad: 4x");
}

TEST(PercentDecode, PathKeepsPlus) {
  EXPECT_EQ(*percentDecode("/images/a+b%2Fc", false), "/images/a+b/c");
  EXPECT_EQ(*percentDecode("a+b", true), "a b");
}

}  // namespace
}  // namespace berth::api::httputil
