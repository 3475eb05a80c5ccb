#include "store/state_store.h"

#include <sqlite3.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "store/migrations.h"

namespace berth::store {
namespace {

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("berth-store-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "state.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs SQL on the file behind the store's back.
  void rawExec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(StateStoreTest, CreatesMigratesAndUsesWal) {
  auto s = StateStore::open(path_);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->schemaVersion(), migrations().back().version);
  auto c = (*s)->counts();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->containers, 0);
  EXPECT_EQ(c->images, 0);
  EXPECT_TRUE(std::filesystem::exists(path_ + "-wal"));
  ASSERT_TRUE((*s)->close().ok());
  // A clean close folds the WAL back into the main file.
  EXPECT_FALSE(std::filesystem::exists(path_ + "-wal") && std::filesystem::file_size(path_ + "-wal") > 0);
}

TEST_F(StateStoreTest, MetaPersistsAcrossReopen) {
  {
    auto s = StateStore::open(path_);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(*(*s)->getOrInitMeta("daemon-id", "first"), "first");
    EXPECT_EQ(*(*s)->getOrInitMeta("daemon-id", "second"), "first");
    ASSERT_TRUE((*s)->setMeta("k", "v1").ok());
    ASSERT_TRUE((*s)->setMeta("k", "v2").ok());
  }
  auto s = StateStore::open(path_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(**(*s)->getMeta("k"), "v2");
  EXPECT_EQ(*(*s)->getOrInitMeta("daemon-id", "third"), "first");
  EXPECT_FALSE((*s)->getMeta("absent")->has_value());
}

TEST_F(StateStoreTest, CountsAndUsageFromTables) {
  ASSERT_TRUE(StateStore::open(path_).ok());
  rawExec(
      "INSERT INTO containers VALUES('c1','a','img','running',1,'{\"Id\":\"c1\"}');"
      "INSERT INTO containers VALUES('c2','b','img','exited',2,'{\"Id\":\"c2\"}');"
      "INSERT INTO containers VALUES('c3','c','img','paused',3,'{\"Id\":\"c3\"}');"
      "INSERT INTO images VALUES('i1',1,100,'{\"Id\":\"i1\"}');"
      "INSERT INTO images VALUES('i2',2,23,'{\"Id\":\"i2\"}');");
  auto s = StateStore::open(path_);
  ASSERT_TRUE(s.ok());
  auto c = (*s)->counts();
  EXPECT_EQ(c->containers, 3);
  EXPECT_EQ(c->containersRunning, 1);
  EXPECT_EQ(c->containersPaused, 1);
  EXPECT_EQ(c->containersStopped, 1);
  EXPECT_EQ(c->images, 2);
  auto u = (*s)->usageRows();
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->layersSize, 123);
}

TEST_F(StateStoreTest, ContainerNamesAreUnique) {
  auto s = StateStore::open(path_);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->insertContainer({"c1", "web", "img", "created", 1, "{}"}).ok());
  absl::Status dup = (*s)->insertContainer({"c2", "web", "img", "created", 2, "{}"});
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "c1");  // the holder, for dockerd's conflict text
  ASSERT_TRUE((*s)->insertContainer({"c2", "db", "img", "created", 2, "{}"}).ok());
  absl::Status taken = (*s)->updateContainer({"c2", "web", "img", "created", 2, "{}"});
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE((*s)->updateContainer({"c2", "db2", "img", "exited", 2, "{\"x\":1}"}).ok());
  auto rows = (*s)->listContainers();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].name, "db2");  // newest first
  EXPECT_EQ((*rows)[0].state, "exited");
  EXPECT_EQ((*s)->updateContainer({"gone", "x", "img", "created", 3, "{}"}).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE((*s)->deleteContainer("c1").ok());
  EXPECT_EQ((*s)->listContainers()->size(), 1u);
}

TEST_F(StateStoreTest, RefusesNewerSchema) {
  ASSERT_TRUE(StateStore::open(path_).ok());
  rawExec("PRAGMA user_version=9999");
  auto s = StateStore::open(path_);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(s.status().message()).find("schema version 9999"), std::string::npos);
}

TEST_F(StateStoreTest, RefusesGarbage) {
  {
    std::FILE* f = std::fopen(path_.c_str(), "w");
    std::fputs("this is not a database, just text long enough to look like a header........", f);
    std::fclose(f);
  }
  EXPECT_FALSE(StateStore::open(path_).ok());
}

}  // namespace
}  // namespace berth::store
