#include "util/lazy_library.h"

#include <dlfcn.h>

#include "util/strings.h"

namespace berth {

void* LazyResolver::find(const char* name) {
  void* p = dlsym(handle_, name);
  if (p == nullptr && missing_.empty()) missing_ = name;
  return p;
}

absl::StatusOr<void*> openLibrary(const char* soname, const char* package) {
  void* h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* err = dlerror();
    return absl::FailedPreconditionError(strCat("cannot load ", soname, " (Debian package ", package,
                                                "): ", err ? err : "unknown error"));
  }
  return h;
}

}  // namespace berth
