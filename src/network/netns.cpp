#include "network/netns.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "util/strings.h"

namespace berth::network {

namespace {

bool isNsfsMount(const std::string& path) {
  struct statfs fs {};
  return ::statfs(path.c_str(), &fs) == 0 && fs.f_type == NSFS_MAGIC;
}

}  // namespace

absl::Status createNetns(const std::string& path) {
  if (isNsfsMount(path)) return absl::OkStatus();
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
  if (fd < 0) return absl::InternalError(strCat("creating ", path, ": ", strerror(errno)));
  ::close(fd);
  // unshare() moves only the calling thread, so a throw-away thread does it
  // and the daemon's own threads never leave the host's namespace.
  int err = 0;
  std::string step;
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      err = errno;
      step = "creating a network namespace";
      return;
    }
    if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      err = errno;
      step = "pinning the network namespace at " + path;
    }
  });
  t.join();
  if (err != 0) {
    ::unlink(path.c_str());
    return absl::InternalError(strCat(step, ": ", strerror(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> openNetns(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() || !isNsfsMount(path)) {
    return absl::NotFoundError(strCat("network namespace ", path, " is gone"));
  }
  return fd;
}

absl::Status removeNetns(const std::string& path) {
  while (isNsfsMount(path)) {
    if (::umount2(path.c_str(), MNT_DETACH) != 0) {
      return absl::InternalError(strCat("unmounting ", path, ": ", strerror(errno)));
    }
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(strCat("removing ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace berth::network
