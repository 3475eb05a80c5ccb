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

namespace berth::api::types {
namespace {

TEST(FilterHelpers, BoolLabelsAndTime) {
  Filters f = *parseFilters(R"({"dangling":["true"],"label":["a","b=2"],"label!":["c"],"until":["1700000000.5"]})");
  EXPECT_EQ(*boolFilter(f, "dangling"), std::optional<bool>(true));
  EXPECT_EQ(*boolFilter(f, "absent"), std::optional<bool>());
  EXPECT_EQ(boolFilter(*parseFilters(R"({"dangling":["maybe"]})"), "dangling").status().message(),
            "invalid filter 'dangling=maybe'");
  EXPECT_TRUE(labelsMatch(f, {{"a", "x"}, {"b", "2"}}));
  EXPECT_FALSE(labelsMatch(f, {{"a", "x"}, {"b", "3"}}));
  EXPECT_FALSE(labelsMatch(f, {{"a", "x"}, {"b", "2"}, {"c", ""}}));
  EXPECT_TRUE(labelsMatch({}, {}));
  EXPECT_EQ(**timeFilter(f, "until"), 1700000000500000000);
  EXPECT_EQ(**timeFilter(*parseFilters(R"({"until":["2023-11-14T22:13:20Z"]})"), "until"), 1700000000000000000);
  EXPECT_FALSE(timeFilter(*parseFilters(R"({"until":["soon"]})"), "until").ok());
}

}  // namespace
}  // namespace berth::api::types
