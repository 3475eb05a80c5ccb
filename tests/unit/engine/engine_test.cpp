#include "engine/engine.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace berth::engine {
namespace {

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("berth-engine-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = std::move(*store::StateStore::open((dir_ / "state.db").string()));
    EngineOptions o;
    o.dataRoot = dir_.string();
    o.version = "0.1.0";
    o.labels = {"a=b"};
    o.warnings = {"WARNING: test"};
    engine_ = std::move(*Engine::create(o, *store_));
  }
  void TearDown() override {
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  store::StateStorePtr store_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, IdIsStableAcrossEngines) {
  std::string id = engine_->id();
  EXPECT_EQ(id.size(), 36u);
  auto again = Engine::create({}, *store_);
  EXPECT_EQ((*again)->id(), id);
}

TEST_F(EngineTest, VersionAndInfo) {
  auto v = engine_->version();
  EXPECT_EQ(v.apiVersion, "1.51");
  EXPECT_EQ(v.minApiVersion, "1.24");
  EXPECT_EQ(v.version, "0.1.0");
  EXPECT_EQ(v.os, "linux");
  auto i = engine_->info();
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(i->id, engine_->id());
  EXPECT_EQ(i->dockerRootDir, dir_.string());
  EXPECT_EQ(i->labels, (std::vector<std::string>{"a=b"}));
  EXPECT_EQ(i->warnings, (std::vector<std::string>{"WARNING: test"}));
  EXPECT_EQ(i->containers, 0);
  EXPECT_GT(i->nfd, 2);
  EXPECT_GE(i->nThreads, 1);
  EXPECT_EQ(i->cgroupDriver, "cgroupfs");
  EXPECT_EQ(i->osType, "linux");
  bool rootless = std::find(i->securityOptions.begin(), i->securityOptions.end(), "name=rootless") !=
                  i->securityOptions.end();
  EXPECT_EQ(rootless, ::geteuid() != 0);
}

TEST_F(EngineTest, ReloadUpdatesInfoAndEmitsEvent) {
  std::vector<api::types::Event> got;
  auto stream = engine_->events({}, [&](const api::types::Event& e) { got.push_back(e); });
  ASSERT_TRUE(stream.ok());
  engine_->reload({{"x=y"}, true, "debug"});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "daemon");
  EXPECT_EQ(got[0].action, "reload");
  EXPECT_EQ(got[0].actorId, engine_->id());
  EXPECT_EQ(got[0].attributes.at("labels"), "[\"x=y\"]");
  EXPECT_EQ(got[0].attributes.at("debug"), "true");
  auto i = engine_->info();
  EXPECT_EQ(i->labels, (std::vector<std::string>{"x=y"}));
  EXPECT_TRUE(i->debug);
}

TEST_F(EngineTest, EventsPastUntilIsNotLive) {
  engine_->reload({{}, false, "info"});
  api::backend::EventQuery q;
  q.since = fromUnixNanos(0);
  q.until = nowSystem();
  auto s = engine_->events(q, nullptr);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->past.size(), 1u);
  EXPECT_EQ(s->live, nullptr);
  q.filters = *api::types::parseFilters(R"({"nope":["x"]})");
  EXPECT_EQ(engine_->events(q, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, DiskUsageTypes) {
  auto all = engine_->diskUsage({});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->withImages && all->withContainers && all->withVolumes && all->withBuildCache);
  auto some = engine_->diskUsage({{"volume"}});
  EXPECT_TRUE(some->withVolumes);
  EXPECT_FALSE(some->withImages);
  auto json = api::types::toJson(*some);
  EXPECT_TRUE(json["Images"].is_null());
  EXPECT_TRUE(json["Volumes"].is_array());
  EXPECT_EQ(engine_->diskUsage({{"disk"}}).status().message(), "unknown object type: disk");
}

}  // namespace
}  // namespace berth::engine
