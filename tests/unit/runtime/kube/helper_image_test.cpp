#include "runtime/kube/helper_image.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "util/digest.h"

namespace berth::runtime::kube {
namespace {

TEST(HelperImage, OneUncompressedLayerWithTheHelperAtTheRoot) {
  HelperImage img = buildHelperImage("\x7f" "ELF-binary", "amd64", "0.1.0");
  // ustar: the name at 0, mode at 100, size (octal) at 124, "ustar" at 257.
  ASSERT_EQ(img.layer.size(), 512u + 512u + 1024u);
  EXPECT_EQ(std::string(img.layer.c_str()), "berth-kubehelper");
  EXPECT_EQ(img.layer.substr(100, 7), "0000755");
  EXPECT_EQ(img.layer.substr(124, 11), "00000000013");
  EXPECT_EQ(img.layer.substr(512, 11), "\x7f" "ELF-binary");
  EXPECT_EQ(img.layerDigest, sha256Digest(img.layer));

  auto config = nlohmann::json::parse(img.config);
  EXPECT_EQ(config["architecture"], "amd64");
  EXPECT_EQ(config["os"], "linux");
  EXPECT_EQ(config["rootfs"]["diff_ids"], nlohmann::json::array({img.layerDigest}));
  EXPECT_EQ(config["config"]["Entrypoint"], nlohmann::json::array({"/berth-kubehelper"}));
  EXPECT_FALSE(config.contains("created"));  // no timestamp: same binary, same digest

  auto manifest = nlohmann::json::parse(img.manifest);
  EXPECT_EQ(manifest["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(manifest["config"]["digest"], img.configDigest);
  EXPECT_EQ(manifest["config"]["size"], img.config.size());
  EXPECT_EQ(manifest["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar");
  EXPECT_EQ(manifest["layers"][0]["size"], img.layer.size());
  EXPECT_EQ(img.manifestDigest, sha256Digest(img.manifest));
}

TEST(HelperImage, SameBinarySameDigest) {
  EXPECT_EQ(buildHelperImage("abc", "amd64", "1").manifestDigest, buildHelperImage("abc", "amd64", "1").manifestDigest);
  EXPECT_NE(buildHelperImage("abc", "amd64", "1").manifestDigest, buildHelperImage("abd", "amd64", "1").manifestDigest);
  EXPECT_NE(buildHelperImage("abc", "amd64", "1").manifestDigest, buildHelperImage("abc", "arm64", "1").manifestDigest);
}

}  // namespace
}  // namespace berth::runtime::kube
