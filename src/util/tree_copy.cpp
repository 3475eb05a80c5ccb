#include "util/tree_copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "util/tar_tree.h"
#include "util/unique_fd.h"

namespace berth {
namespace {

bool ownerIgnorable(int rc) { return rc == 0 || errno == EPERM || errno == EINVAL; }

// Owner first: a chown clears set-id bits, which the chmod after puts back.
bool copyMeta(int fd, const struct stat& st) {
  if (!ownerIgnorable(::fchown(fd, st.st_uid, st.st_gid))) return false;
  if (::fchmod(fd, st.st_mode & 07777) != 0) return false;
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  return ::futimens(fd, times) == 0;
}

bool copyBytes(int from, int to) {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::copy_file_range(from, nullptr, to, nullptr, size_t(1) << 30, 0);
    if (n == 0) return true;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return false;
    break;  // not between these filesystems: plain reads and writes
  }
  for (;;) {
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (!writeAll(to, std::string_view(buf, size_t(n))).ok()) return false;
  }
}

bool copyEntry(int srcDir, int dstDir, const std::string& name) {
  struct stat st {};
  if (::fstatat(srcDir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT;  // gone meanwhile
  const char* n = name.c_str();
  if (S_ISDIR(st.st_mode)) {
    if (::mkdirat(dstDir, n, 0700) != 0 && errno != EEXIST) return false;
    UniqueFd from(::openat(srcDir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    UniqueFd to(::openat(dstDir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!from.valid() || !to.valid()) return false;
    return copyDirectory(from.get(), to.get());
  }
  if (S_ISREG(st.st_mode)) {
    UniqueFd to(::openat(dstDir, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!to.valid()) return errno == EEXIST;  // there already (another start copying at once): kept
    UniqueFd from(::openat(srcDir, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!from.valid()) return false;
    return copyBytes(from.get(), to.get()) && copyMeta(to.get(), st);
  }
  if (S_ISLNK(st.st_mode)) {
    std::string target(size_t(st.st_size) + 1, '\0');
    ssize_t len = ::readlinkat(srcDir, n, target.data(), target.size());
    if (len < 0) return false;
    target.resize(size_t(len));
    if (::symlinkat(target.c_str(), dstDir, n) != 0) return errno == EEXIST;
    if (!ownerIgnorable(::fchownat(dstDir, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW))) return false;
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    return ::utimensat(dstDir, n, times, AT_SYMLINK_NOFOLLOW) == 0;
  }
  return true;  // devices, fifos, sockets: left out
}

}  // namespace

bool copyDirContents(int srcDir, int dstDir) {
  for (const std::string& name : sortedEntries(srcDir)) {
    if (!copyEntry(srcDir, dstDir, name)) return false;
  }
  return true;
}

bool copyDirectory(int srcDir, int dstDir) {
  struct stat st {};
  if (::fstat(srcDir, &st) != 0) return false;
  // Times last: filling the directory would change them.
  return copyDirContents(srcDir, dstDir) && copyMeta(dstDir, st);
}

}  // namespace berth
