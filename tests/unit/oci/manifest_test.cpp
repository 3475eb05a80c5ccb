#include "oci/manifest.h"

#include <gtest/gtest.h>

namespace berth::oci {
namespace {

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');

std::string dockerManifest() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,"digest":")" + kA + R"("},
    "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":2,"digest":")" + kB + R"("},
              {"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","size":3,"digest":")" + kC + R"("}]})";
}

std::string ociIndex() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":10,"digest":")" + kA + R"(",
     "platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":11,"digest":")" + kB + R"(",
     "platform":{"os":"linux","architecture":"amd64"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":12,"digest":")" + kC + R"(",
     "platform":{"os":"unknown","architecture":"unknown"},
     "annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]})";
}

TEST(Manifest, DockerSchema2) {
  auto doc = parseManifest(dockerManifest(), "application/vnd.docker.distribution.manifest.v2+json");
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_FALSE(doc->isIndex);
  EXPECT_EQ(doc->manifest.config.digest, kA);
  EXPECT_EQ(doc->manifest.config.size, 1469);
  ASSERT_EQ(doc->manifest.layers.size(), 2u);
  EXPECT_EQ(*layerCompression(doc->manifest.layers[0].mediaType), Compression::Gzip);
  EXPECT_EQ(*layerCompression(doc->manifest.layers[1].mediaType), Compression::Zstd);
  EXPECT_EQ(*layerCompression(kOciLayer), Compression::None);
  EXPECT_FALSE(layerCompression(kDockerLayerForeign).ok());
  // A generic Content-Type: the body's mediaType decides.
  EXPECT_TRUE(parseManifest(dockerManifest(), "application/json; charset=utf-8").ok());
}

TEST(Manifest, IndexAndPlatformSelection) {
  auto doc = parseManifest(ociIndex(), kOciIndex);
  ASSERT_TRUE(doc.ok()) << doc.status();
  ASSERT_TRUE(doc->isIndex);
  ASSERT_EQ(doc->index.manifests.size(), 3u);
  EXPECT_EQ(selectManifest(doc->index, *parsePlatform("linux/amd64"))->digest, kB);
  EXPECT_EQ(selectManifest(doc->index, *parsePlatform("linux/arm64"))->digest, kA);
  EXPECT_EQ(selectManifest(doc->index, *parsePlatform("linux/aarch64/v8"))->digest, kA);
  auto none = selectManifest(doc->index, *parsePlatform("linux/s390x"));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(none.status().message(), "no matching manifest for linux/s390x in the manifest list entries");
  EXPECT_FALSE(selectManifest(doc->index, *parsePlatform("windows/amd64")).ok());
}

TEST(Manifest, RefusesMalformedDocuments) {
  struct Case {
    std::string body;
    std::string contentType;
  } cases[] = {
      {"not json", ""},
      {"[]", ""},
      {R"({"schemaVersion":3,"layers":[]})", ""},
      {R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]})", ""},
      {R"({"schemaVersion":2,"config":{"mediaType":"x","size":1,"digest":"sha256:short"},"layers":[]})", ""},
      {R"({"schemaVersion":2,"config":{"mediaType":"x","size":-1,"digest":")" + kA + R"("},"layers":[]})", ""},
      {R"({"schemaVersion":2,"config":{"mediaType":"x","size":1,"digest":")" + kA + R"("},"layers":{}})", ""},
      {R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"})", ""},
      {R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"size":1}]})", ""},
      {dockerManifest(), std::string(kOciIndex)},  // body says manifest, header says index
      {R"({"schemaVersion":2,"mediaType":"text/plain"})", ""},
  };
  for (const Case& c : cases) {
    auto doc = parseManifest(c.body, c.contentType);
    EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument) << c.body;
  }
  auto schema1 = parseManifest(R"({"schemaVersion":1,"name":"x","fsLayers":[]})", kDockerSchema1Signed);
  EXPECT_NE(std::string(schema1.status().message()).find("schema 1 is not supported"), std::string::npos);
}

TEST(Platform, ParseNormalizeMatch) {
  EXPECT_EQ(parsePlatform("linux/amd64")->toString(), "linux/amd64");
  EXPECT_EQ(parsePlatform("linux/arm64")->toString(), "linux/arm64/v8");
  EXPECT_EQ(parsePlatform("Linux/ARMHF")->toString(), "linux/arm/v7");
  EXPECT_EQ(parsePlatform("linux/x86_64")->toString(), "linux/amd64");
  EXPECT_EQ(parsePlatform(R"({"os":"linux","architecture":"arm","variant":"v6"})")->toString(), "linux/arm/v6");
  EXPECT_EQ(parsePlatform("linux")->architecture, hostPlatform().architecture);
  for (const char* bad : {"", "/amd64", "linux/amd64/v8/x", "linux/am d64", "{bad", "linux/../x"}) {
    EXPECT_FALSE(parsePlatform(bad).ok()) << bad;
  }
  EXPECT_TRUE(matches(*parsePlatform("linux/arm64"), Platform{"linux", "arm64", "", ""}));
  EXPECT_FALSE(matches(*parsePlatform("linux/arm/v7"), Platform{"linux", "arm", "v6", ""}));
  EXPECT_TRUE(matches(Platform{"linux", "arm", "", ""}, Platform{"linux", "arm", "v7", ""}));
  EXPECT_EQ(hostPlatform().os, "linux");
}

}  // namespace
}  // namespace berth::oci
