#include "util/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "util/status.h"
#include "util/unique_fd.h"

namespace berth {

int lastCapability() {
  int last = std::atoi(readFileOrEmpty("/proc/sys/kernel/cap_last_cap").c_str());
  return last > 0 ? last : CAP_LAST_CAP;
}

absl::Status clearCapabilitySets() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[2]{};
  if (::syscall(SYS_capset, &hdr, none) != 0) return errnoStatus(errno, "capset");
  return absl::OkStatus();
}

absl::Status dropAllPrivileges(uid_t uid, gid_t gid) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errnoStatus(errno, "no_new_privs");
  for (int cap = 0, last = lastCapability(); cap <= last; ++cap) {
    // EPERM without CAP_SETPCAP (a daemon started without it): the bounding
    // set cannot shrink, but the sets below still empty.
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL && errno != EPERM) {
      return errnoStatus(errno, "dropping the bounding set");
    }
  }
  (void)::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (uid != uid_t(-1) && ::geteuid() == 0) {
    // EINVAL: the id is not mapped in this user namespace.
    if (::setgroups(0, nullptr) != 0 && errno != EPERM) return errnoStatus(errno, "setgroups");
    if (::setresgid(gid, gid, gid) != 0 && errno != EINVAL) return errnoStatus(errno, "setgid");
    if (::setresuid(uid, uid, uid) != 0 && errno != EINVAL) return errnoStatus(errno, "setuid");
  }
  return clearCapabilitySets();
}

}  // namespace berth
