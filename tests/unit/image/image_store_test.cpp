#include "image/image_store.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "util/digest.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("berth-images-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = std::move(*store::StateStore::open((dir_ / "state.db").string()));
    images_ = std::make_unique<ImageStore>(*db_);
  }
  void TearDown() override {
    images_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }
  ImageRecord record(std::string_view seed) {
    ImageRecord r;
    r.id = sha256Digest(seed);
    r.config = {{"created", "2024-01-01T00:00:00Z"}};
    return r;
  }
  fs::path dir_;
  store::StateStorePtr db_;
  std::unique_ptr<ImageStore> images_;
};

TEST_F(ImageStoreTest, ResolvesLikeDockerd) {
  ImageRecord a = record("a");
  std::string digest = sha256Digest("manifest");
  ASSERT_TRUE(images_->put(a, {"docker.io/library/busybox:latest"}, {"docker.io/library/busybox@" + digest}).ok());
  EXPECT_EQ(images_->resolve("busybox")->record.id, a.id);
  EXPECT_EQ(images_->resolve("docker.io/library/busybox:latest")->record.id, a.id);
  EXPECT_EQ(images_->resolve("busybox@" + digest)->record.id, a.id);
  EXPECT_EQ(images_->resolve(a.id)->record.id, a.id);
  EXPECT_EQ(images_->resolve(a.id.substr(7))->record.id, a.id);
  EXPECT_EQ(images_->resolve(a.id.substr(7, 5))->record.id, a.id);
  auto missing = images_->resolve("nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "No such image: nope:latest");
  EXPECT_EQ(images_->resolve("sha256:" + std::string(64, 'f')).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ImageStoreTest, AmbiguousPrefix) {
  // Ids sharing a first hex digit, found by trying seeds.
  std::vector<ImageRecord> recs;
  for (int i = 0; recs.size() < 2 && i < 1000; ++i) {
    ImageRecord r = record(std::to_string(i));
    if (recs.empty() || r.id[7] == recs[0].id[7]) recs.push_back(r);
  }
  ASSERT_EQ(recs.size(), 2u);
  for (const ImageRecord& r : recs) ASSERT_TRUE(images_->put(r, {}, {}).ok());
  EXPECT_EQ(images_->resolve(recs[0].id.substr(7, 1)).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ImageStoreTest, TagMovesAndRemoveDropsRefs) {
  ImageRecord a = record("a"), b = record("b");
  ASSERT_TRUE(images_->put(a, {"docker.io/library/x:1"}, {}).ok());
  ASSERT_TRUE(images_->put(b, {}, {}).ok());
  ASSERT_TRUE(images_->tag(b.id, "docker.io/library/x:1").ok());
  EXPECT_EQ(images_->resolve("x:1")->record.id, b.id);
  EXPECT_TRUE((*images_->byId(a.id))->tags.empty());
  ASSERT_TRUE(images_->remove(b.id).ok());
  EXPECT_EQ(images_->resolve("x:1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(images_->untag("docker.io/library/x:1").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(images_->list()->size(), 1u);
}

TEST(FamiliarRef, Shortens) {
  EXPECT_EQ(familiarRef("docker.io/library/busybox:latest"), "busybox:latest");
  EXPECT_EQ(familiarRef("127.0.0.1:5000/a/b@sha256:" + std::string(64, 'a')), "127.0.0.1:5000/a/b@sha256:" + std::string(64, 'a'));
}

}  // namespace
}  // namespace berth::image
