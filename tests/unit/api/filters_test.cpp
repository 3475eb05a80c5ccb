#include "api/types/filters.h"

#include <gtest/gtest.h>

namespace berth::api::types {
namespace {

TEST(Filters, BothEncodings) {
  auto current = parseFilters(R"({"type":{"container":true,"image":true,"volume":false}})");
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->at("type"), (std::set<std::string>{"container", "image"}));
  auto legacy = parseFilters(R"({"label":["a=b","c"]})");
  ASSERT_TRUE(legacy.ok());
  EXPECT_EQ(legacy->at("label"), (std::set<std::string>{"a=b", "c"}));
  EXPECT_TRUE(parseFilters("")->empty());
}

TEST(Filters, RejectsBadShapes) {
  for (const char* bad : {"{", "[]", R"({"type":"container"})", R"({"type":[1]})", R"({"type":{"a":1}})"}) {
    EXPECT_EQ(parseFilters(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(Filters, ValidateAndMatch) {
  Filters f = *parseFilters(R"({"type":["daemon"]})");
  EXPECT_TRUE(validateFilterKeys(f, {"type", "event"}).ok());
  Filters unknown = *parseFilters(R"({"colour":["red"]})");
  EXPECT_EQ(validateFilterKeys(unknown, {"type"}).message(), "invalid filter 'colour'");
  EXPECT_TRUE(filterMatches(f, "type", "daemon"));
  EXPECT_FALSE(filterMatches(f, "type", "container"));
  EXPECT_TRUE(filterMatches(f, "absent", "anything"));
}

}  // namespace
}  // namespace berth::api::types
