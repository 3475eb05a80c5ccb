#include "runtime/kube/namespace_lock.h"

#include <gtest/gtest.h>

namespace berth::runtime::kube {
namespace {

using json = nlohmann::json;

TEST(NamespaceLock, MicroTimeHasSixFractionalDigits) {
  auto t = std::chrono::system_clock::from_time_t(1700000000) + std::chrono::microseconds(42);
  EXPECT_EQ(microTime(t), "2023-11-14T22:13:20.000042Z");
}

TEST(NamespaceLock, ALeaseIsFreeWithoutAHolderForItsHolderAndOnceExpired) {
  auto now = std::chrono::system_clock::from_time_t(1700000000);  // 22:13:20
  auto lease = [](const char* holder, const char* renewed) {
    return json{{"spec", {{"holderIdentity", holder}, {"leaseDurationSeconds", 15}, {"renewTime", renewed}}}};
  };
  EXPECT_FALSE(leaseFree(lease("other", "2023-11-14T22:13:10.000000Z"), "me", now));  // renewed 10 s ago
  EXPECT_TRUE(leaseFree(lease("other", "2023-11-14T22:13:04.000000Z"), "me", now));   // 16 s ago: expired
  EXPECT_TRUE(leaseFree(lease("me", "2023-11-14T22:13:19.000000Z"), "me", now));
  EXPECT_TRUE(leaseFree(lease("", "2023-11-14T22:13:19.000000Z"), "me", now));
  EXPECT_TRUE(leaseFree(json{{"spec", {{"holderIdentity", "other"}}}}, "me", now));  // never renewed
  EXPECT_TRUE(leaseFree(json::object(), "me", now));
}

}  // namespace
}  // namespace berth::runtime::kube
