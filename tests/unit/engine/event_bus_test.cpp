#include "engine/event_bus.h"

#include <gtest/gtest.h>

#include "engine/event_filter.h"

namespace berth::engine {
namespace {

using api::types::Event;
using api::types::Filters;

Event ev(std::string type, std::string action, std::string id, int64_t t,
         std::map<std::string, std::string> attrs = {}) {
  Event e;
  e.type = std::move(type);
  e.action = std::move(action);
  e.actorId = std::move(id);
  e.timeNano = t;
  e.attributes = std::move(attrs);
  return e;
}

TEST(EventBus, SinceUntilWindowAndLive) {
  EventBus bus(10);
  bus.publish(ev("daemon", "reload", "d", 100));
  bus.publish(ev("container", "start", "c", 200));
  bus.publish(ev("container", "die", "c", 300));
  std::vector<Event> live;
  auto [past, sub] = bus.snapshotAndSubscribe(fromUnixNanos(150), fromUnixNanos(300), {}, true,
                                              [&](const Event& e) { live.push_back(e); });
  ASSERT_EQ(past.size(), 2u);
  EXPECT_EQ(past[0].action, "start");
  EXPECT_EQ(past[1].action, "die");
  EXPECT_EQ(bus.subscriberCount(), 1u);
  bus.publish(ev("image", "pull", "i", 400));
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].action, "pull");
  sub.reset();
  EXPECT_EQ(bus.subscriberCount(), 0u);
  bus.publish(ev("image", "pull", "i", 500));
  EXPECT_EQ(live.size(), 1u);
}

TEST(EventBus, HistoryOnlyWithABound) {
  EventBus bus;
  bus.publish(ev("daemon", "reload", "d", 100));
  bus.publish(ev("daemon", "reload", "d", 200));
  auto [none, sub] = bus.snapshotAndSubscribe(std::nullopt, std::nullopt, {}, false, nullptr);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(sub, nullptr);
  // Only `until`: everything kept up to it (dockerd's loadBufferedEvents).
  auto [upTo, sub2] = bus.snapshotAndSubscribe(std::nullopt, fromUnixNanos(150), {}, false, nullptr);
  ASSERT_EQ(upTo.size(), 1u);
  EXPECT_EQ(upTo[0].timeNano, 100);
}

TEST(EventBus, BoundedHistoryAndIncreasingTimes) {
  EventBus bus(3);
  for (int i = 0; i < 5; ++i) bus.publish(ev("daemon", "reload", "d", 1000));  // same stamp on purpose
  auto [past, sub] = bus.snapshotAndSubscribe(fromUnixNanos(0), std::nullopt, {}, false, nullptr);
  ASSERT_EQ(past.size(), 3u);
  EXPECT_EQ(past[0].timeNano, 1002);
  EXPECT_EQ(past[1].timeNano, 1003);
  EXPECT_EQ(past[2].timeNano, 1004);
}

TEST(EventFilter, DockerdSemantics) {
  Event start = ev("container", "start", "abcdef123", 1, {{"name", "web"}, {"image", "busybox:latest"}, {"tier", "fe"}});
  Event exec = ev("container", "exec_start: sh -c true", "abcdef123", 1, {{"name", "web"}});
  Event reload = ev("daemon", "reload", "d-1", 1, {{"name", "host"}});
  auto f = [](const char* json) { return *api::types::parseFilters(json); };
  EXPECT_TRUE(eventMatches(f(R"({"type":["container"]})"), start));
  EXPECT_FALSE(eventMatches(f(R"({"type":["container"]})"), reload));
  EXPECT_TRUE(eventMatches(f(R"({"container":["web"]})"), start));
  EXPECT_TRUE(eventMatches(f(R"({"container":["abc"]})"), start));  // id prefix
  EXPECT_FALSE(eventMatches(f(R"({"container":["db"]})"), start));
  EXPECT_FALSE(eventMatches(f(R"({"container":["web"]})"), reload));
  EXPECT_TRUE(eventMatches(f(R"({"event":["exec_start"]})"), exec));
  EXPECT_TRUE(eventMatches(f(R"({"image":["busybox"]})"), start));
  EXPECT_TRUE(eventMatches(f(R"({"label":["tier=fe"]})"), start));
  EXPECT_TRUE(eventMatches(f(R"({"label":["tier"]})"), start));
  EXPECT_FALSE(eventMatches(f(R"({"label":["tier=be"]})"), start));
  EXPECT_TRUE(eventMatches(f(R"({"daemon":["host"]})"), reload));
  EXPECT_TRUE(eventMatches(f(R"({"type":["daemon"],"event":["reload"]})"), reload));
  EXPECT_FALSE(eventMatches(f(R"({"type":["daemon"],"event":["start"]})"), reload));
  EXPECT_TRUE(validateEventFilters(f(R"({"type":["x"],"label":["y"]})")).ok());
  EXPECT_EQ(validateEventFilters(f(R"({"bogus":["x"]})")).message(), "invalid filter 'bogus'");
}

TEST(EventJson, WireShape) {
  Event e = ev("container", "start", "c1", 1'700'000'000'123'456'789, {{"image", "busybox"}});
  auto j = api::types::toJson(e);
  EXPECT_EQ(j.dump(),
            R"({"status":"start","id":"c1","from":"busybox","Type":"container","Action":"start",)"
            R"("Actor":{"ID":"c1","Attributes":{"image":"busybox"}},"scope":"local","time":1700000000,)"
            R"("timeNano":1700000000123456789})");
  Event d = ev("daemon", "reload", "d", 5);
  EXPECT_FALSE(api::types::toJson(d).contains("status"));
}

}  // namespace
}  // namespace berth::engine
