#include "util/log.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"

namespace berth::log {
namespace {

TEST(Log, TextIsLogfmt) {
  EXPECT_EQ(formatRecord(Format::Text, "T", Level::Info, "berth is ready", {{"version", "0.1.0"}, {"path", "/a b"}}),
            "time=T level=info msg=\"berth is ready\" version=0.1.0 path=\"/a b\"");
  EXPECT_EQ(formatRecord(Format::Text, "T", Level::Warn, "x", {{"empty", ""}, {"q", "say \"hi\""}}),
            "time=T level=warning msg=x empty=\"\" q=\"say \\\"hi\\\"\"");
}

TEST(Log, JsonIsOneObject) {
  std::string line = formatRecord(Format::Json, "T", Level::Error, "failed", {{"error", "boom\n"}});
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "T");
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["msg"], "failed");
  EXPECT_EQ(j["error"], "boom\n");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(Log, Levels) {
  EXPECT_EQ(*parseLevel("DEBUG"), Level::Debug);
  EXPECT_EQ(*parseLevel("warning"), Level::Warn);
  EXPECT_FALSE(parseLevel("loud").ok());
  EXPECT_FALSE(parseFormat("xml").ok());
  setLevel(Level::Warn);
  EXPECT_FALSE(enabled(Level::Info));
  EXPECT_TRUE(enabled(Level::Error));
  setLevel(Level::Info);
}

}  // namespace
}  // namespace berth::log
