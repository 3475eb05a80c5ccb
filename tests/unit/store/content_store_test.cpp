#include "store/content_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

namespace berth::store {
namespace {

namespace fs = std::filesystem;

class ContentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("berth-content-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    store_ = std::move(*ContentStore::open(root_.string()));
  }
  void TearDown() override { fs::remove_all(root_); }

  size_t ingestCount() const { return static_cast<size_t>(std::distance(fs::directory_iterator(root_ / "ingest"), {})); }

  fs::path root_;
  std::unique_ptr<ContentStore> store_;
};

TEST_F(ContentStoreTest, CommitPublishesAVerifiedReadOnlyBlob) {
  const std::string data = "hello, blob";
  const std::string digest = sha256Digest(data);
  auto w = store_->writer(digest);
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE((*w)->write("hello, ").ok());
  EXPECT_FALSE(store_->exists(digest)) << "visible before commit";
  ASSERT_TRUE((*w)->write("blob").ok());
  EXPECT_EQ((*w)->offset(), 11);
  ASSERT_TRUE((*w)->commit(11, digest).ok());
  EXPECT_TRUE(store_->exists(digest));
  EXPECT_EQ(*store_->size(digest), 11);
  EXPECT_EQ(*store_->read(digest), data);
  struct stat st {};
  ASSERT_EQ(::stat(store_->path(digest)->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  EXPECT_EQ(ingestCount(), 0u);
  EXPECT_EQ(*store_->list(), std::vector<std::string>{digest});
}

TEST_F(ContentStoreTest, WrongDigestOrSizeLeavesNothingVisible) {
  const std::string digest = sha256Digest("expected");
  auto w = std::move(*store_->writer(digest));
  ASSERT_TRUE(w->write("tampered").ok());
  absl::Status s = w->commit(std::nullopt, digest);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "unexpected commit digest " + sha256Digest("tampered") + ", expected " + digest);
  EXPECT_FALSE(store_->exists(digest));
  EXPECT_TRUE(store_->list()->empty());
  EXPECT_EQ(ingestCount(), 0u);

  auto w2 = std::move(*store_->writer(digest));
  ASSERT_TRUE(w2->write("expected").ok());
  EXPECT_EQ(w2->commit(9, digest).code(), absl::StatusCode::kFailedPrecondition);  // truncated/overlong
  EXPECT_FALSE(store_->exists(digest));
}

TEST_F(ContentStoreTest, OneWriterPerRefAndDuplicates) {
  const std::string digest = sha256Digest("x");
  auto first = store_->writer(digest);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(store_->writer(digest).status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE((*first)->write("x").ok());
  ASSERT_TRUE((*first)->commit(1, digest).ok());
  // The ref is free again; committing the same content twice is AlreadyExists.
  auto second = std::move(*store_->writer(digest));
  ASSERT_TRUE(second->write("x").ok());
  EXPECT_EQ(second->commit(1, digest).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(*store_->read(digest), "x");
  EXPECT_EQ(ingestCount(), 0u);
}

TEST_F(ContentStoreTest, ResumesAnIngestLeftBehind) {
  const std::string data = "0123456789";
  const std::string digest = sha256Digest(data);
  {
    auto w = std::move(*store_->writer(digest));
    ASSERT_TRUE(w->write("01234").ok());
  }  // dropped without commit, as in a crash
  EXPECT_FALSE(store_->exists(digest));
  auto w = std::move(*store_->writer(digest));
  EXPECT_EQ(w->offset(), 5);
  ASSERT_TRUE(w->write("56789").ok());
  ASSERT_TRUE(w->commit(10, digest).ok());
  EXPECT_EQ(*store_->read(digest), data);
}

TEST_F(ContentStoreTest, AbortDiscardsAndRemoveDeletes) {
  const std::string digest = sha256Digest("gone");
  auto w = std::move(*store_->writer(digest));
  ASSERT_TRUE(w->write("go").ok());
  w->abort();
  EXPECT_EQ(ingestCount(), 0u);
  auto again = std::move(*store_->writer(digest));
  EXPECT_EQ(again->offset(), 0);
  ASSERT_TRUE(again->write("gone").ok());
  ASSERT_TRUE(again->commit(4, digest).ok());
  ASSERT_TRUE(store_->remove(digest).ok());
  EXPECT_FALSE(store_->exists(digest));
  EXPECT_EQ(store_->remove(digest).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->size(digest).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ContentStoreTest, RejectsMalformedDigests) {
  for (const char* bad : {"", "sha256:", "sha256:../../etc/passwd", "md5:abc",
                          "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"}) {
    EXPECT_EQ(store_->path(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_FALSE(store_->exists(bad));
  }
  auto w = std::move(*store_->writer("any ref"));
  ASSERT_TRUE(w->write("a").ok());
  EXPECT_EQ(w->commit(1, "sha256:../../x").code(), absl::StatusCode::kInvalidArgument);
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256Digest(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Digest("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.update("a");
  h.update("bc");
  EXPECT_EQ(h.digest(), sha256Digest("abc"));
  h.update("d");  // still usable after digest()
  EXPECT_EQ(h.digest(), sha256Digest("abcd"));
}

TEST_F(ContentStoreTest, PutSmallWaitsForAnotherWriter) {
  const std::string data = "config";
  const std::string digest = sha256Digest(data);
  auto held = store_->writer(digest);
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE((*held)->write(data).ok());
  std::thread other([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE((*held)->commit(static_cast<int64_t>(data.size()), digest).ok());
  });
  EXPECT_TRUE(store_->putSmall(digest, data).ok());
  other.join();
  EXPECT_EQ(*store_->read(digest), data);
  EXPECT_TRUE(store_->putSmall(digest, data).ok());  // present: fine
  EXPECT_EQ(store_->putSmall(sha256Digest("x"), "y").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ingestCount(), 0u);
}

TEST_F(ContentStoreTest, OpenClearsIngestsThatCannotResume) {
  const std::string digest = sha256Digest("resumable");
  {
    auto a = store_->writer(digest);
    ASSERT_TRUE((*a)->write("resum").ok());
    auto b = store_->writer("load-1234");
    ASSERT_TRUE((*b)->write("one-shot").ok());
    auto c = store_->writer(sha256Digest("stale"));
    ASSERT_TRUE((*c)->write("old").ok());
  }  // left behind, as by a crash
  EXPECT_EQ(ingestCount(), 3u);
  // The stale one was last written two days ago.
  std::string staleDir = (root_ / "ingest" / sha256Digest(sha256Digest("stale")).substr(7)).string();
  fs::last_write_time(staleDir + "/data", fs::file_time_type::clock::now() - std::chrono::hours(48));
  auto reopened = ContentStore::open(root_.string());
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(ingestCount(), 1u);
  auto resumed = (*reopened)->writer(digest);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ((*resumed)->offset(), 5);
}

}  // namespace
}  // namespace berth::store
