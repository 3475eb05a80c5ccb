#pragma once
// Shared libraries the daemon needs only for some requests (libcurl for
// registries, libarchive for layers) are loaded on first use, so an idle
// daemon does not carry their pages (libcurl and its dependencies alone add
// ~4 MB of RSS; the idle goal is under 10 MB).
//
// A library's API is a struct of function pointers filled by name:
//
//   #define MY_SYMBOLS(X) X(curl_easy_init) X(curl_easy_perform)
//   struct CurlApi { MY_SYMBOLS(BERTH_LAZY_FIELD) };
//   absl::StatusOr<const CurlApi*> api = loadLazy<CurlApi>("libcurl.so.4",
//       [](LazyResolver& r, CurlApi& a) { MY_SYMBOLS(BERTH_LAZY_RESOLVE) });
//
// The header of the library gives the exact type of each pointer, so a call
// through the struct is checked like a direct call.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"

namespace berth {

class LazyResolver {
 public:
  explicit LazyResolver(void* handle) : handle_(handle) {}
  // Looks up `name`; remembers the first missing one.
  void* find(const char* name);
  const std::string& missing() const { return missing_; }

 private:
  void* handle_;
  std::string missing_;
};

// dlopen(soname); never closed. FailedPrecondition naming the library and
// its Debian package when it cannot be loaded.
absl::StatusOr<void*> openLibrary(const char* soname, const char* package);

template <class Api, class Fill>
absl::StatusOr<const Api*> loadLazy(const char* soname, const char* package, Fill fill) {
  static std::once_flag once;
  static absl::StatusOr<const Api*> result = absl::InternalError("unset");
  std::call_once(once, [&] {
    absl::StatusOr<void*> handle = openLibrary(soname, package);
    if (!handle.ok()) {
      result = handle.status();
      return;
    }
    auto api = std::make_unique<Api>();
    LazyResolver resolver(*handle);
    fill(resolver, *api);
    if (!resolver.missing().empty()) {
      result = absl::FailedPreconditionError(std::string(soname) + " lacks " + resolver.missing());
      return;
    }
    result = api.release();  // lives as long as the process
  });
  return result;
}

// A library loaded while something uses it and closed `linger` after its
// last user is done, so its pages (and its dependencies') leave an idle
// daemon. For libraries with no state of their own that outlives a call
// (libarchive: its reader and writer objects are freed by each user). A
// dependency glibc must keep (libstdc++, for its unique symbols) stays.
class UnloadingLibrary {
 public:
  UnloadingLibrary(const char* soname, const char* package, std::chrono::milliseconds linger)
      : soname_(soname), package_(package), linger_(linger) {}
  // Stops the closer and closes the library (process-wide ones are never
  // destroyed; see leaseLibrary).
  ~UnloadingLibrary();
  UnloadingLibrary(const UnloadingLibrary&) = delete;
  UnloadingLibrary& operator=(const UnloadingLibrary&) = delete;

  // Opens the library if it is closed (calling `onOpen` with the new handle
  // to resolve symbols) and counts a user.
  absl::Status acquire(const std::function<absl::Status(void* handle)>& onOpen);
  void release();
  bool loaded();  // for tests

 private:
  void closeWhenIdle();

  const char* soname_;
  const char* package_;
  const std::chrono::milliseconds linger_;
  std::mutex mu_;
  std::condition_variable cv_;
  void* handle_ = nullptr;  // guarded by mu_
  int users_ = 0;           // guarded by mu_
  std::chrono::steady_clock::time_point lastUse_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::thread closer_;      // started with the first open
};

// A use of an UnloadingLibrary's API: the library stays open while it lives.
template <class Api>
class LibraryLease {
 public:
  LibraryLease(UnloadingLibrary* lib, const Api* api) : lib_(lib), api_(api) {}
  LibraryLease(LibraryLease&& o) noexcept : lib_(std::exchange(o.lib_, nullptr)), api_(o.api_) {}
  LibraryLease& operator=(LibraryLease&&) = delete;
  LibraryLease(const LibraryLease&) = delete;
  ~LibraryLease() {
    if (lib_ != nullptr) lib_->release();
  }
  const Api* operator->() const { return api_; }
  const Api* get() const { return api_; }

 private:
  UnloadingLibrary* lib_;
  const Api* api_;
};

// The lease for a process-wide UnloadingLibrary of `Api`, filled by `fill`
// at each open:
//   static absl::StatusOr<LibraryLease<ArchiveApi>> archive() {
//     return leaseLibrary<ArchiveApi>("libarchive.so.13", "libarchive13", linger,
//         [](LazyResolver& r, ArchiveApi& a) { SYMBOLS(BERTH_LAZY_RESOLVE) });
//   }
template <class Api, class Fill>
absl::StatusOr<LibraryLease<Api>> leaseLibrary(const char* soname, const char* package,
                                               std::chrono::milliseconds linger, Fill fill) {
  // Never destroyed: the closer thread may run past main's return.
  static UnloadingLibrary* lib = new UnloadingLibrary(soname, package, linger);
  static Api* api = new Api();  // rewritten at each open, while no lease exists
  absl::Status st = lib->acquire([&](void* handle) {
    LazyResolver resolver(handle);
    fill(resolver, *api);
    if (!resolver.missing().empty()) {
      return absl::FailedPreconditionError(std::string(soname) + " lacks " + resolver.missing());
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return LibraryLease<Api>(lib, api);
}

}  // namespace berth

#define BERTH_LAZY_FIELD(sym) decltype(&::sym) sym = nullptr;
#define BERTH_LAZY_RESOLVE(sym) a.sym = reinterpret_cast<decltype(&::sym)>(r.find(#sym));
