#include "util/lazy_library.h"

#include <dlfcn.h>

#include "util/status.h"
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

absl::Status UnloadingLibrary::acquire(const std::function<absl::Status(void* handle)>& onOpen) {
  std::lock_guard lock(mu_);
  if (handle_ == nullptr) {
    BERTH_ASSIGN_OR_RETURN(void* h, openLibrary(soname_, package_));
    if (absl::Status st = onOpen(h); !st.ok()) {
      dlclose(h);
      return st;
    }
    handle_ = h;
    if (!closer_.joinable()) closer_ = std::thread([this] { closeWhenIdle(); });
  }
  ++users_;
  return absl::OkStatus();
}

void UnloadingLibrary::release() {
  {
    std::lock_guard lock(mu_);
    --users_;
    lastUse_ = std::chrono::steady_clock::now();
  }
  cv_.notify_all();
}

UnloadingLibrary::~UnloadingLibrary() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (closer_.joinable()) closer_.join();
  if (handle_ != nullptr) dlclose(handle_);
}

bool UnloadingLibrary::loaded() {
  std::lock_guard lock(mu_);
  return handle_ != nullptr;
}

void UnloadingLibrary::closeWhenIdle() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (handle_ == nullptr || users_ > 0) {
      cv_.wait(lock);
      continue;
    }
    auto expiry = lastUse_ + linger_;
    if (std::chrono::steady_clock::now() < expiry) {
      cv_.wait_until(lock, expiry);
      continue;
    }
    dlclose(handle_);
    handle_ = nullptr;
  }
}

}  // namespace berth
