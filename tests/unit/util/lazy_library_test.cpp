#include "util/lazy_library.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <thread>

namespace berth {
namespace {

using namespace std::chrono_literals;

#define ZLIB_SYMBOLS(X) X(zlibVersion)
struct ZlibApi {
  ZLIB_SYMBOLS(BERTH_LAZY_FIELD)
};

absl::Status fillZlib(void* handle, ZlibApi& api) {
  LazyResolver r(handle);
  auto& a = api;
  ZLIB_SYMBOLS(BERTH_LAZY_RESOLVE)
  return r.missing().empty() ? absl::OkStatus() : absl::FailedPreconditionError(r.missing());
}

TEST(UnloadingLibrary, OpenWhileUsedClosedAfterTheLinger) {
  UnloadingLibrary lib("libz.so.1", "zlib1g", 100ms);
  ZlibApi api;
  EXPECT_FALSE(lib.loaded());
  ASSERT_TRUE(lib.acquire([&](void* h) { return fillZlib(h, api); }).ok());
  ASSERT_TRUE(lib.acquire([&](void* h) { return fillZlib(h, api); }).ok());  // a second user: no reopen
  EXPECT_STREQ(api.zlibVersion(), zlibVersion());
  lib.release();
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(lib.loaded()) << "closed while a user holds it";
  lib.release();
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (lib.loaded() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(lib.loaded());
  // Used again: opened again, symbols resolved again.
  api = ZlibApi{};
  ASSERT_TRUE(lib.acquire([&](void* h) { return fillZlib(h, api); }).ok());
  EXPECT_TRUE(lib.loaded());
  EXPECT_STREQ(api.zlibVersion(), zlibVersion());
  lib.release();
}

TEST(UnloadingLibrary, MissingLibraryOrSymbolIsAnError) {
  UnloadingLibrary missing("libberth-no-such.so.1", "no-such-package", 10ms);
  absl::Status st = missing.acquire([](void*) { return absl::OkStatus(); });
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(st.message()).find("no-such-package"), std::string::npos) << st;

  UnloadingLibrary lib("libz.so.1", "zlib1g", 10ms);
  st = lib.acquire([](void* h) {
    LazyResolver r(h);
    r.find("no_such_symbol");
    return absl::FailedPreconditionError("libz.so.1 lacks " + r.missing());
  });
  EXPECT_EQ(st.message(), "libz.so.1 lacks no_such_symbol");
  EXPECT_FALSE(lib.loaded()) << "a failed open is closed at once";
}

}  // namespace
}  // namespace berth
