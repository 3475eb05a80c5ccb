#pragma once
// Giving up privileges in helper processes that handle untrusted bytes and
// need none (the HTTP helper), and pieces the container runtime shares.
#include <sys/types.h>

#include "absl/status/status.h"

namespace berth {

// The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap).
int lastCapability();

// Empties the effective, permitted and inheritable sets of the calling thread's process.
absl::Status clearCapabilitySets();

// For a process that needs no privilege at all: no_new_privs, an empty
// bounding and ambient set, then (when `uid` is not -1 and the process can)
// the user and group `uid`/`gid` with no supplementary groups, then empty
// capability sets. A user that is not mapped here (a user namespace with a
// single id) is skipped: the capabilities still go.
absl::Status dropAllPrivileges(uid_t uid, gid_t gid);

}  // namespace berth
