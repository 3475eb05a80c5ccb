#include "runtime/kube/kube_runtime.h"

#include <gtest/gtest.h>

namespace berth::runtime::kube {
namespace {

using json = nlohmann::json;

json podWith(const char* mainState, const char* initState = R"({"terminated":{"exitCode":0}})") {
  return json::parse(std::string(R"({"status":{"phase":"Running","initContainerStatuses":[{"name":"berth-init","state":)") +
                     initState + R"(}],"containerStatuses":[{"name":"berth","state":{"running":{}}},{"name":"main","state":)" +
                     mainState + "}]}}");
}

TEST(MainState, RunningExitedAndOom) {
  json running = podWith(R"({"running":{"startedAt":"2026-11-23T10:00:00Z"}})");
  EXPECT_EQ(mainState(&running).kind, MainState::kRunning);
  EXPECT_EQ(mainState(&running).startedAt, "2026-11-23T10:00:00Z");
  json exited = podWith(R"({"terminated":{"exitCode":3,"reason":"Error","startedAt":"2026-11-23T10:00:01Z",
      "finishedAt":"2026-11-23T10:00:05Z"}})");
  MainState m = mainState(&exited);
  EXPECT_EQ(m.startedAt, "2026-11-23T10:00:01Z");
  EXPECT_EQ(m.kind, MainState::kExited);
  EXPECT_EQ(m.exit.exitCode, 3);
  EXPECT_EQ(m.exit.finishedAt, "2026-11-23T10:00:05Z");
  EXPECT_FALSE(m.exit.oomKilled);
  json oom = podWith(R"({"terminated":{"exitCode":137,"reason":"OOMKilled"}})");
  EXPECT_TRUE(mainState(&oom).exit.oomKilled);
  json execFailed = podWith(R"({"terminated":{"exitCode":127,"message":"exec: \"nope\": executable file not found in $PATH"}})");
  EXPECT_EQ(mainState(&execFailed).message, "exec: \"nope\": executable file not found in $PATH");
}

TEST(MainState, PendingUntilSomethingIsDecided) {
  json scheduling = json::parse(R"({"status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False",
      "reason":"Unschedulable","message":"0/1 nodes are available"}]}})");
  MainState m = mainState(&scheduling);
  EXPECT_EQ(m.kind, MainState::kPending);  // the start timeout decides, with this text
  EXPECT_EQ(m.message, "not scheduled: Unschedulable: 0/1 nodes are available");
  json creating = podWith(R"({"waiting":{"reason":"ContainerCreating"}})");
  EXPECT_EQ(mainState(&creating).kind, MainState::kPending);
}

TEST(MainState, FailuresThatDoNotFixThemselves) {
  json pull = podWith(R"({"waiting":{"reason":"ErrImagePull","message":"manifest unknown"}})");
  MainState m = mainState(&pull);
  EXPECT_EQ(m.kind, MainState::kFailed);
  EXPECT_EQ(m.message, "ErrImagePull: manifest unknown");
  json helperPull = podWith(R"({"waiting":{"reason":"PodInitializing"}})", R"({"waiting":{"reason":"ImagePullBackOff","message":"back-off"}})");
  EXPECT_EQ(mainState(&helperPull).message, "berth helper image: ImagePullBackOff: back-off");
  json initFailed = podWith(R"({"waiting":{"reason":"PodInitializing"}})", R"({"terminated":{"exitCode":1}})");
  EXPECT_EQ(mainState(&initFailed).kind, MainState::kFailed);
  EXPECT_EQ(mainState(nullptr).kind, MainState::kFailed);
  json evicted = json::parse(R"({"status":{"phase":"Failed","reason":"Evicted","message":"low on memory"}})");
  EXPECT_EQ(mainState(&evicted).message, "the pod failed: Evicted low on memory");
}

TEST(ExitOf, TheExitOnceThePodEnded) {
  json exited = podWith(R"({"terminated":{"exitCode":3,"finishedAt":"2026-11-23T10:00:05Z"}})");
  ASSERT_TRUE(exitOf(&exited));
  EXPECT_EQ(exitOf(&exited)->exitCode, 3);
  EXPECT_EQ(exitOf(&exited)->finishedAt, "2026-11-23T10:00:05Z");
  json running = podWith(R"({"running":{}})");
  EXPECT_FALSE(exitOf(&running));
  json creating = podWith(R"({"waiting":{"reason":"ContainerCreating"}})");
  EXPECT_FALSE(exitOf(&creating));
  // Deleted or evicted behind Berth's back: as if killed.
  ASSERT_TRUE(exitOf(nullptr));
  EXPECT_EQ(exitOf(nullptr)->exitCode, 137);
  json evicted = json::parse(R"({"status":{"phase":"Failed","reason":"Evicted"}})");
  ASSERT_TRUE(exitOf(&evicted));
  EXPECT_EQ(exitOf(&evicted)->exitCode, 137);
}

}  // namespace
}  // namespace berth::runtime::kube

namespace berth::runtime::kube {
namespace {

TEST(Reaper, RemovesOtherInstancesPodsFifteenMinutesAfterTheirReapMax) {
  auto pod = [](const char* instance, const char* created) {
    return nlohmann::json{{"metadata", {{"name", "x"}, {"creationTimestamp", created},
                                        {"labels", {{"berth.dev/instance", instance}}}}}};
  };
  auto now = std::chrono::system_clock::from_time_t(1700000000);  // 2023-11-14T22:13:20Z
  // reapmax 1 h: another instance's pod goes after 1 h 15 min, never ours (the engine removes those).
  EXPECT_TRUE(reapable(pod("other", "2023-11-14T20:58:19Z"), "mine", 3600, now));
  EXPECT_FALSE(reapable(pod("other", "2023-11-14T20:58:20Z"), "mine", 3600, now));
  EXPECT_FALSE(reapable(pod("mine", "2023-11-01T00:00:00Z"), "mine", 3600, now));
  EXPECT_FALSE(reapable(pod("other", "2023-11-01T00:00:00Z"), "mine", 0, now));  // --reapmax 0: never
  EXPECT_FALSE(reapable(pod("", "2023-11-01T00:00:00Z"), "mine", 3600, now));
  EXPECT_FALSE(reapable(pod("other", "yesterday"), "mine", 3600, now));
  EXPECT_FALSE(reapable(nlohmann::json::object(), "mine", 3600, now));
}

}  // namespace
}  // namespace berth::runtime::kube
