#include "image/registry/registry_client.h"

#include <gtest/gtest.h>

namespace berth::registry {
namespace {

TEST(RegistryClient, PlainHttpOnlyForLoopbackAndInsecureEntries) {
  RegistryOptions o;
  o.insecureRegistries = {"registry.lan:5000", "build.internal", "10.1.0.0/16"};
  auto c = RegistryClient::create(o);
  ASSERT_TRUE(c.ok()) << c.status();
  RegistryClient& r = **c;
  EXPECT_TRUE(r.allowsPlainHttp("localhost:5000"));
  EXPECT_TRUE(r.allowsPlainHttp("127.0.0.1:5000"));
  EXPECT_TRUE(r.allowsPlainHttp("127.8.9.10"));
  EXPECT_TRUE(r.allowsPlainHttp("[::1]:5000"));
  EXPECT_TRUE(r.allowsPlainHttp("registry.lan:5000"));
  EXPECT_FALSE(r.allowsPlainHttp("registry.lan:5001"));
  EXPECT_TRUE(r.allowsPlainHttp("build.internal:443"));
  EXPECT_TRUE(r.allowsPlainHttp("10.1.200.3:5000"));
  EXPECT_FALSE(r.allowsPlainHttp("10.2.0.1:5000"));
  EXPECT_FALSE(r.allowsPlainHttp("docker.io"));
  EXPECT_FALSE(r.allowsPlainHttp("quay.io"));
  EXPECT_FALSE(r.allowsPlainHttp("128.0.0.1"));
  // Secure registries never probe: the URL is https straight away.
  EXPECT_EQ(*r.baseUrl("docker.io"), "https://registry-1.docker.io");
  EXPECT_EQ(*r.baseUrl("quay.io"), "https://quay.io");
}

}  // namespace
}  // namespace berth::registry
