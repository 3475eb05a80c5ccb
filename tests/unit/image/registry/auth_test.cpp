#include "image/registry/auth.h"

#include <gtest/gtest.h>

#include "image/registry/registry_client.h"
#include "util/base64.h"

namespace berth::registry {
namespace {

TEST(Challenges, BearerWithQuotedParams) {
  auto c = parseChallenges(R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].params["realm"], "https://auth.example/token");
  EXPECT_EQ(c[0].params["service"], "registry.example");
  EXPECT_EQ(c[0].params["scope"], "repository:a/b:pull");
}

TEST(Challenges, SeveralAndEscapes) {
  auto c = parseChallenges(R"(Basic realm="Registry \"x\"", Bearer realm=https://t/ , service="s")");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].params["realm"], "Registry \"x\"");
  EXPECT_EQ(c[1].scheme, "bearer");
  EXPECT_EQ(c[1].params["realm"], "https://t/");
  EXPECT_EQ(c[1].params["service"], "s");
}

TEST(Challenges, UnterminatedQuoteStopsParsing) {
  auto c = parseChallenges(R"(Basic realm="ok", Bearer realm="open)");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "basic");
}

TEST(RegistryAuth, DecodesUrlSafeHeader) {
  std::string json = R"({"username":"u?>","password":"p~~","serveraddress":"127.0.0.1:5000"})";
  std::string header = base64Encode(json);
  for (char& ch : header) {
    if (ch == '+') ch = '-';
    if (ch == '/') ch = '_';
  }
  auto a = decodeRegistryAuth(header);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->username, "u?>");
  EXPECT_EQ(a->password, "p~~");
  EXPECT_EQ(a->serverAddress, "127.0.0.1:5000");
}

TEST(RegistryAuth, EmptyHeaderIsAnonymous) {
  auto a = decodeRegistryAuth("");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->empty());
}

TEST(RegistryAuth, PackedAuthField) {
  auto a = parseAuthConfig(R"({"auth":")" + base64Encode("alice:s3cr:et") + R"("})");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->username, "alice");
  EXPECT_EQ(a->password, "s3cr:et");
}

TEST(RegistryAuth, MalformedIsInvalidArgument) {
  EXPECT_EQ(decodeRegistryAuth("***").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(decodeRegistryAuth(base64Encode("[1,2]")).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parseAuthConfig(R"({"auth":"bm9jb2xvbg=="})").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Base64, RoundTripAndPadding) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto d = base64Decode(base64Encode(s));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64Encode("ab"), "YWI=");
  EXPECT_EQ(*base64Decode("YWI"), "ab");
  EXPECT_FALSE(base64Decode("Y").has_value());
}

TEST(RegistryErrors, DockerdWording) {
  HttpResponse r;
  r.status = 404;
  r.body = R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]})";
  EXPECT_EQ(registryErrorText(r), "manifest unknown: manifest unknown");
  r.body = "not json";
  EXPECT_EQ(registryErrorText(r), "not found");
  r.status = 401;
  EXPECT_EQ(registryErrorText(r), "unauthorized: authentication required");
}

}  // namespace
}  // namespace berth::registry
