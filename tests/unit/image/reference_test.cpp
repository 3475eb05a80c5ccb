#include "image/reference.h"

#include <gtest/gtest.h>

namespace berth::image {
namespace {

constexpr const char* kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(Reference, NormalisesAsTheDockerCli) {
  struct Case {
    std::string in;
    std::string canonical;  // after withDefaultTag
    std::string familiar;
  } cases[] = {
      {"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
      {"library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"team/app", "docker.io/team/app:latest", "team/app:latest"},
      {"library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"},
      {"localhost/app", "localhost/app:latest", "localhost/app:latest"},
      {"localhost:5000/team/app:1.0", "localhost:5000/team/app:1.0", "localhost:5000/team/app:1.0"},
      {"127.0.0.1:5000/app", "127.0.0.1:5000/app:latest", "127.0.0.1:5000/app:latest"},
      {"[::1]:5000/app:v2", "[::1]:5000/app:v2", "[::1]:5000/app:v2"},
      {"registry.example.com/a-b/c__d/e.f:tag_1.0-x", "registry.example.com/a-b/c__d/e.f:tag_1.0-x",
       "registry.example.com/a-b/c__d/e.f:tag_1.0-x"},
      // Lossy as in dockerd: the familiar form of this Hub repository reads as a registry.
      {"docker.io/foo.bar/baz", "docker.io/foo.bar/baz:latest", "foo.bar/baz:latest"},
      {"Upper.example.com/app", "Upper.example.com/app:latest", "Upper.example.com/app:latest"},
      {std::string("busybox@sha256:") + kHex, std::string("docker.io/library/busybox@sha256:") + kHex,
       std::string("busybox@sha256:") + kHex},
      {std::string("busybox:1@sha256:") + kHex, std::string("docker.io/library/busybox:1@sha256:") + kHex,
       std::string("busybox:1@sha256:") + kHex},
  };
  for (const Case& c : cases) {
    auto ref = parseNormalized(c.in);
    ASSERT_TRUE(ref.ok()) << c.in << ": " << ref.status();
    Reference full = withDefaultTag(*ref);
    EXPECT_EQ(full.canonical(), c.canonical) << c.in;
    EXPECT_EQ(full.familiar(), c.familiar) << c.in;
  }
}

TEST(Reference, Parts) {
  auto ref = parseNormalized("localhost:5000/team/app:1.0");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->domain, "localhost:5000");
  EXPECT_EQ(ref->path, "team/app");
  EXPECT_EQ(ref->tag, "1.0");
  EXPECT_EQ(ref->digest, "");
  EXPECT_EQ(ref->name(), "localhost:5000/team/app");
  // A digest alone gets no default tag.
  auto pinned = withDefaultTag(*parseNormalized(std::string("app@sha256:") + kHex));
  EXPECT_EQ(pinned.tag, "");
}

TEST(Reference, RejectsWithDockerdTexts) {
  for (const char* bad : {"", ":tag", "app:", "app@", "app@sha256:abc", "-app", "app-", "a//b", "app:-tag",
                          "app:t@g", "a..b", "a___b", "host:/app", "host:port/app", "[::1/app", "app/", "/app",
                          "a b", "app:tag:tag"}) {
    auto r = parseNormalized(bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(std::string(r.status().message()).starts_with("invalid reference format")) << bad << ": "
                                                                                             << r.status();
  }
  EXPECT_EQ(parseNormalized("Busybox").status().message(),
            "invalid reference format: repository name (library/Busybox) must be lowercase");
  EXPECT_EQ(parseNormalized("localhost:5000/Team/app").status().message(),
            "invalid reference format: repository name (Team/app) must be lowercase");
  EXPECT_EQ(parseNormalized(kHex).status().message(),
            std::string("invalid repository name (") + kHex + "), cannot specify 64-byte hexadecimal strings");
  EXPECT_EQ(parseNormalized(std::string(250, 'a') + "/bb").status().message(),
            "invalid reference format: repository name must not be more than 255 characters");
}

TEST(Reference, TagsAndDigests) {
  EXPECT_TRUE(isValidTag("latest"));
  EXPECT_TRUE(isValidTag("_x.Y-1"));
  EXPECT_TRUE(isValidTag(std::string(128, 'a')));
  EXPECT_FALSE(isValidTag(std::string(129, 'a')));
  EXPECT_FALSE(isValidTag(".x"));
  EXPECT_FALSE(isValidTag("-x"));
  EXPECT_TRUE(isValidDigest(std::string("sha256:") + kHex));
  EXPECT_FALSE(isValidDigest(std::string("sha256:") + std::string(kHex).substr(1)));
  EXPECT_FALSE(isValidDigest(std::string("sha256:") + "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
  EXPECT_TRUE(isValidDigest("sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  EXPECT_TRUE(isValidDigest("multihash+base58:0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(isValidDigest("sha256"));
  EXPECT_FALSE(isValidDigest(":abc"));
  EXPECT_FALSE(isValidDigest("1sha:0123456789abcdef0123456789abcdef"));
}

}  // namespace
}  // namespace berth::image
