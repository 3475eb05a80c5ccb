#include "api/server/router.h"

#include <gtest/gtest.h>

namespace berth::api::server {
namespace {

Handler tagged(int tag, int* hit) {
  return [tag, hit](httputil::Exchange&) -> boost::asio::awaitable<absl::Status> {
    *hit = tag;
    co_return absl::OkStatus();
  };
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add("GET", "/_ping", tagged(1, &hit_));
    router_.add("HEAD", "/_ping", tagged(2, &hit_));
    router_.add("GET", "/containers/{id}/json", tagged(3, &hit_));
    router_.add("GET", "/images/{name:.*}/json", tagged(4, &hit_));
    router_.add("DELETE", "/images/{name:.*}", tagged(5, &hit_));
    router_.add("GET", "/containers/json", tagged(6, &hit_));
  }
  Router router_;
  int hit_ = 0;
};

TEST_F(RouterTest, MatchesLiteralsAndMethods) {
  PathParams p;
  EXPECT_NE(router_.match("GET", "/_ping", p), nullptr);
  EXPECT_NE(router_.match("HEAD", "/_ping", p), nullptr);
  // dockerd answers a wrong method like an unknown path.
  EXPECT_EQ(router_.match("DELETE", "/_ping", p), nullptr);
  EXPECT_EQ(router_.match("GET", "/_pingx", p), nullptr);
  EXPECT_EQ(router_.match("GET", "/", p), nullptr);
}

TEST_F(RouterTest, SingleSegmentParameter) {
  PathParams p;
  ASSERT_NE(router_.match("GET", "/containers/abc123/json", p), nullptr);
  EXPECT_EQ(p.at("id"), "abc123");
  EXPECT_EQ(router_.match("GET", "/containers//json", p), nullptr);
  EXPECT_EQ(router_.match("GET", "/containers/a/b/json", p), nullptr);
  // The literal route is found too; first match wins between equals.
  ASSERT_NE(router_.match("GET", "/containers/json", p), nullptr);
}

TEST_F(RouterTest, RestParameterTakesSlashes) {
  PathParams p;
  ASSERT_NE(router_.match("GET", "/images/localhost:5000/team/app:1.0/json", p), nullptr);
  EXPECT_EQ(p.at("name"), "localhost:5000/team/app:1.0");
  ASSERT_NE(router_.match("DELETE", "/images/busybox", p), nullptr);
  EXPECT_EQ(p.at("name"), "busybox");
  // An image literally named ".../json" still parses greedily.
  ASSERT_NE(router_.match("GET", "/images/a/json/json", p), nullptr);
  EXPECT_EQ(p.at("name"), "a/json");
  EXPECT_EQ(router_.match("GET", "/images/json", p), nullptr);
}

}  // namespace
}  // namespace berth::api::server
