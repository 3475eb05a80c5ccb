#include "api/server/api_version.h"

#include <gtest/gtest.h>

namespace berth::api::server {
namespace {

TEST(SplitVersionPrefix, Table) {
  struct Case {
    const char* path;
    const char* version;
    const char* rest;
  } cases[] = {
      {"/v1.51/containers/json", "1.51", "/containers/json"},
      {"/v1.24/_ping", "1.24", "/_ping"},
      {"/_ping", "", "/_ping"},
      {"/v1.51", "1.51", "/"},
      {"/version", "", "/version"},  // "v" followed by a letter is no prefix
      {"/vabc/_ping", "", "/vabc/_ping"},
      {"/v/_ping", "", "/v/_ping"},
      {"/v1.5x/_ping", "", "/v1.5x/_ping"},
  };
  for (const Case& c : cases) {
    VersionedPath vp = splitVersionPrefix(c.path);
    EXPECT_EQ(vp.version, c.version) << c.path;
    EXPECT_EQ(vp.path, c.rest) << c.path;
  }
}

TEST(CheckApiVersion, RangeAndTexts) {
  EXPECT_TRUE(checkApiVersion("1.24").ok());
  EXPECT_TRUE(checkApiVersion("1.51").ok());
  EXPECT_TRUE(checkApiVersion("1.40").ok());
  absl::Status tooNew = checkApiVersion("1.52");
  EXPECT_EQ(tooNew.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tooNew.message(), "client version 1.52 is too new. Maximum supported API version is 1.51");
  absl::Status tooOld = checkApiVersion("1.23");
  EXPECT_EQ(tooOld.message(),
            "client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a "
            "newer version");
  // Numeric, not lexical: 1.100 > 1.51 and 1.9 < 1.24.
  EXPECT_FALSE(checkApiVersion("1.100").ok());
  EXPECT_FALSE(checkApiVersion("1.9").ok());
  EXPECT_FALSE(checkApiVersion("2.0").ok());
}

}  // namespace
}  // namespace berth::api::server
