#pragma once
// Paths inside a directory tree that must not be escaped: a container's
// rootfs, a snapshot being unpacked, a volume. Every lookup is done by the
// kernel relative to a root fd with openat2(RESOLVE_IN_ROOT), so "..",
// absolute symlinks and symlinked parents all stay inside the root, and a
// path is never resolved first and opened later (CVE-2018-15664).
// Magic links (/proc/self/fd/…) are refused.
#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "util/unique_fd.h"

namespace berth {

// Opens `path` (absolute or relative, both taken from the root) as
// openat(2) would with `flags`/`mode`, but confined to `rootFd`.
absl::StatusOr<UniqueFd> openInRoot(int rootFd, std::string_view path, int flags, mode_t mode = 0);

// Creates every missing directory of `path` inside the root (mode `mode`)
// and returns a directory fd of the last one. A component that exists and
// is not a directory is FailedPrecondition.
absl::StatusOr<UniqueFd> mkdirAllInRoot(int rootFd, std::string_view path, mode_t mode);

// The parent directory of `path` (inside the root, created when `create`)
// and the final component, so the caller can create, link or remove that
// entry with the *at() calls without the kernel following a final symlink.
// InvalidArgument for the root itself, "." or "..".
struct ParentEntry {
  UniqueFd dir;
  std::string name;
};
absl::StatusOr<ParentEntry> openParentInRoot(int rootFd, std::string_view path, bool create, mode_t mode = 0755);

// Removes `name` in `dirFd` and, for a directory, everything below it,
// never following a symlink (entries are opened with O_NOFOLLOW relative to
// their parent). Missing is fine. Directories without write permission are
// made writable first, so read-only trees (snapshots) can be removed.
absl::Status removeAllAt(int dirFd, const std::string& name);

}  // namespace berth
