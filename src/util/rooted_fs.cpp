#include "util/rooted_fs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dirent.h>

#include <cerrno>
#include <vector>

#include "util/status.h"
#include "util/strings.h"

namespace berth {
namespace {

// glibc 2.36 has no openat2 wrapper.
int sysOpenat2(int dirfd, const char* path, int flags, mode_t mode, uint64_t resolve) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = resolve;
  for (;;) {
    long fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    if (fd >= 0 || errno != EINTR) return static_cast<int>(fd);
  }
}

constexpr uint64_t kResolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

// Relative form of `path`: "/a/b" and "a/b" both name root/a/b; empty is ".".
std::string relative(std::string_view path) {
  while (path.starts_with('/')) path.remove_prefix(1);
  return path.empty() ? std::string(".") : std::string(path);
}

}  // namespace

absl::StatusOr<UniqueFd> openInRoot(int rootFd, std::string_view path, int flags, mode_t mode) {
  std::string rel = relative(path);
  int fd = sysOpenat2(rootFd, rel.c_str(), flags, mode, kResolve);
  if (fd < 0) return errnoStatus(errno, strCat("open ", path, " in root"));
  return UniqueFd(fd);
}

absl::StatusOr<UniqueFd> mkdirAllInRoot(int rootFd, std::string_view path, mode_t mode) {
  // One component at a time. The directory to create in is always found by
  // a confined lookup of the path so far from the root itself, so symlinks
  // and ".." resolve as they would inside the container and never leave it.
  UniqueFd parent(sysOpenat2(rootFd, ".", O_RDONLY | O_DIRECTORY, 0, kResolve));
  if (!parent.valid()) return errnoStatus(errno, "open root");
  std::string prefix;
  for (std::string_view component : split(path, '/', /*skipEmpty=*/true)) {
    if (component == ".") continue;
    std::string name(component);
    if (::mkdirat(parent.get(), name.c_str(), mode) != 0 && errno != EEXIST) {
      return errnoStatus(errno, strCat("mkdir ", path, " in root"));
    }
    prefix.append("/").append(name);
    int next = sysOpenat2(rootFd, relative(prefix).c_str(), O_RDONLY | O_DIRECTORY, 0, kResolve);
    if (next < 0) {
      if (errno == ENOTDIR) {
        return absl::FailedPreconditionError(strCat("mkdir ", path, " in root: ", component, " is not a directory"));
      }
      return errnoStatus(errno, strCat("open ", path, " in root"));
    }
    parent.reset(next);
  }
  return parent;
}

absl::StatusOr<ParentEntry> openParentInRoot(int rootFd, std::string_view path, bool create, mode_t mode) {
  std::string_view trimmed = path;
  while (trimmed.ends_with('/')) trimmed.remove_suffix(1);
  size_t slash = trimmed.rfind('/');
  std::string_view name = slash == std::string_view::npos ? trimmed : trimmed.substr(slash + 1);
  std::string_view parent = slash == std::string_view::npos ? std::string_view() : trimmed.substr(0, slash);
  if (name.empty() || name == "." || name == "..") {
    return absl::InvalidArgumentError(strCat("no entry name in path \"", path, "\""));
  }
  ParentEntry out;
  if (create) {
    BERTH_ASSIGN_OR_RETURN(out.dir, mkdirAllInRoot(rootFd, parent, mode));
  } else {
    BERTH_ASSIGN_OR_RETURN(out.dir, openInRoot(rootFd, parent, O_RDONLY | O_DIRECTORY));
  }
  out.name = std::string(name);
  return out;
}

absl::Status removeAllAt(int dirFd, const std::string& name) {
  if (::unlinkat(dirFd, name.c_str(), 0) == 0 || errno == ENOENT) return absl::OkStatus();
  if (errno != EISDIR && errno != EPERM) return errnoStatus(errno, strCat("remove ", name));
  int fd = ::openat(dirFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == EACCES) {
    // A directory of ours without read permission (overlay's work/work is
    // mode 000): only root reads past that, so grant ourselves access first,
    // through an O_PATH handle so a symlink swapped in is never followed.
    int path = ::openat(dirFd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (path >= 0) {
      if (::chmod(strCat("/proc/self/fd/", path).c_str(), 0700) == 0) {
        fd = ::openat(path, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      }
      ::close(path);
    }
  }
  if (fd < 0) return errnoStatus(errno, strCat("open ", name));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700) ::fchmod(fd, st.st_mode | 0700);
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return errnoStatus(errno, strCat("read ", name));
  }
  std::vector<std::string> children;
  while (dirent* e = ::readdir(dir)) {
    std::string_view child(e->d_name);
    if (child != "." && child != "..") children.emplace_back(child);
  }
  absl::Status result;
  for (const std::string& child : children) {
    absl::Status st2 = removeAllAt(::dirfd(dir), child);
    if (!st2.ok() && result.ok()) result = st2;
  }
  ::closedir(dir);
  if (!result.ok()) return result;
  if (::unlinkat(dirFd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return errnoStatus(errno, strCat("remove ", name));
  }
  return absl::OkStatus();
}

}  // namespace berth
