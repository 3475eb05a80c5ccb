#include "daemon/data_root_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/strings.h"
#include "util/strings.h"
#include "util/status.h"

namespace berth::daemon {

absl::StatusOr<std::unique_ptr<DataRootLock>> DataRootLock::acquire(const std::string& dataRoot) {
  std::string path = dataRoot + "/berth.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return errnoStatus(errno, strCat("open ", path));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return errnoStatus(errno, strCat("lock ", path));
    char buf[32] = {};
    ssize_t n = ::pread(fd.get(), buf, sizeof(buf) - 1, 0);
    std::string pid = n > 0 ? std::string(trim(std::string_view(buf, static_cast<size_t>(n))))
                            : std::string("unknown");
    return absl::FailedPreconditionError(
        strCat("data root ", dataRoot, " is in use by another berth daemon (pid ", pid, ")"));
  }
  std::string pid = strCat(::getpid(), "\n");
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) < 0) {
    return errnoStatus(errno, strCat("write ", path));
  }
  return std::unique_ptr<DataRootLock>(new DataRootLock(std::move(fd)));
}

}  // namespace berth::daemon
