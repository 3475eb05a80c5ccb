#include "image/image_record.h"

#include <gtest/gtest.h>

#include "util/digest.h"

namespace berth::image {
namespace {

TEST(ChainIds, FollowTheOciDefinition) {
  std::string a = sha256Digest("a"), b = sha256Digest("b"), c = sha256Digest("c");
  auto ids = chainIds({a, b, c});
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], a);
  EXPECT_EQ(ids[1], sha256Digest(a + " " + b));
  EXPECT_EQ(ids[2], sha256Digest(ids[1] + " " + c));
}

TEST(ConfigDiffIds, ChecksShape) {
  std::string d = sha256Digest("x");
  auto ok = configDiffIds({{"rootfs", {{"type", "layers"}, {"diff_ids", {d}}}}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, std::vector<std::string>{d});
  EXPECT_FALSE(configDiffIds(nlohmann::json::array()).ok());
  EXPECT_FALSE(configDiffIds({{"rootfs", {{"type", "other"}}}}).ok());
  EXPECT_FALSE(configDiffIds({{"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:short"}}}}}).ok());
}

TEST(ImageRecord, JsonRoundTripAndCreated) {
  ImageRecord r;
  r.id = sha256Digest("config");
  r.config = {{"created", "2023-11-14T22:13:20.5+01:00"}, {"architecture", "amd64"}};
  r.layers.push_back({sha256Digest("blob"), "application/vnd.oci.image.layer.v1.tar+gzip", 10, sha256Digest("diff"),
                      sha256Digest("diff"), 1234});
  r.manifestDigest = sha256Digest("m");
  auto back = ImageRecord::fromJson(r.toJson().dump());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->id, r.id);
  EXPECT_EQ(back->layers.size(), 1u);
  EXPECT_EQ(back->layers[0].unpackedSize, 1234);
  EXPECT_EQ(back->size(), 1234);
  EXPECT_EQ(back->createdUnix(), 1700000000 - 3600);
  EXPECT_EQ(ImageRecord::fromJson("{}").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(back->layersRemote);
  EXPECT_FALSE(r.toJson().contains("layersRemote"));  // records written before the field read the same
}

TEST(ImageRecord, RemoteLayersKeepTheFlagAndCountCompressedBytes) {
  ImageRecord r;
  r.id = sha256Digest("config");
  r.config = nlohmann::json::object();
  r.layers.push_back({sha256Digest("a"), "application/vnd.oci.image.layer.v1.tar+gzip", 10, sha256Digest("da"),
                      sha256Digest("da"), 0});
  r.layers.push_back({sha256Digest("b"), "application/vnd.oci.image.layer.v1.tar+gzip", 32, sha256Digest("db"),
                      sha256Digest("cb"), 0});
  r.layersRemote = true;
  auto back = ImageRecord::fromJson(r.toJson().dump());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->layersRemote);
  EXPECT_EQ(back->size(), 42);
}

}  // namespace
}  // namespace berth::image
