#pragma once
// Keeps two daemons off one data root: an exclusive flock on
// <data-root>/berth.lock, held for the daemon's life, with the holder's pid
// written inside for the error message. The kernel drops the lock when the
// process dies, so a crash never leaves a stale lock.
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "util/unique_fd.h"

namespace berth::daemon {

class DataRootLock {
 public:
  // FailedPrecondition "data root … is in use by another berth daemon (pid N)".
  static absl::StatusOr<std::unique_ptr<DataRootLock>> acquire(const std::string& dataRoot);

 private:
  explicit DataRootLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace berth::daemon
