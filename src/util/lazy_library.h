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
#include <memory>
#include <mutex>
#include <string>

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

}  // namespace berth

#define BERTH_LAZY_FIELD(sym) decltype(&::sym) sym = nullptr;
#define BERTH_LAZY_RESOLVE(sym) a.sym = reinterpret_cast<decltype(&::sym)>(r.find(#sym));
