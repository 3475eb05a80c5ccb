#include "runtime/kube/bind_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/status.h"
#include "util/strings.h"

namespace berth::runtime::kube {
namespace {

bool under(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path == root || (path.starts_with(root) && path[root.size()] == '/');
}

absl::StatusOr<std::string> pathOfFd(int fd) {
  char buf[4096];
  ssize_t n = ::readlink(strCat("/proc/self/fd/", fd).c_str(), buf, sizeof buf);
  if (n < 0 || size_t(n) == sizeof buf) return absl::InternalError(strCat("resolving a bind source: ", strerror(errno)));
  return std::string(buf, size_t(n));
}

}  // namespace

bool isDockerSocketBind(const std::string& source, const std::string& destination) {
  struct stat st {};
  if (::stat(source.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return true;
  auto named = [](const std::string& p) { return p == "docker.sock" || p.ends_with("/docker.sock"); };
  return named(source) || named(destination);
}

absl::StatusOr<std::vector<std::string>> canonicalBindRoots(const std::vector<std::string>& roots) {
  std::vector<std::string> out;
  for (const std::string& r : roots) {
    if (r.empty()) continue;
    UniqueFd fd(::open(r.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return absl::InvalidArgumentError(strCat("--bind-root ", r, ": ", strerror(errno)));
    BERTH_ASSIGN_OR_RETURN(std::string real, pathOfFd(fd.get()));
    out.push_back(std::move(real));
  }
  return out;
}

absl::StatusOr<BindSource> openBindSource(const std::string& source, const std::vector<std::string>& roots,
                                          size_t maxFileBytes) {
  if (roots.empty()) {
    return absl::InvalidArgumentError(strCat("the kube backend copies host paths into pods only from the directories "
                                             "named by --bind-root, and none is set (bind source ", source, ")"));
  }
  UniqueFd at(::open(source.c_str(), O_PATH | O_CLOEXEC));
  if (!at.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return absl::InvalidArgumentError(strCat("invalid mount config for type \"bind\": bind source path does not exist: ", source));
    }
    return absl::InvalidArgumentError(strCat("bind source ", source, ": ", strerror(errno)));
  }
  BindSource b;
  BERTH_ASSIGN_OR_RETURN(b.realPath, pathOfFd(at.get()));
  bool allowed = false;
  for (const std::string& r : roots) allowed = allowed || under(b.realPath, r);
  if (!allowed) {
    return absl::InvalidArgumentError(strCat("bind source ", source, " (", b.realPath, ") is outside the directories named by "
                                             "--bind-root: ", join(roots, ", ")));
  }
  struct stat st {};
  if (::fstat(at.get(), &st) != 0) return absl::InternalError(strCat("stat ", source, ": ", strerror(errno)));
  b.mode = st.st_mode & 07777;
  if (S_ISDIR(st.st_mode)) {
    b.directory = true;
    b.dir.reset(::openat(at.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!b.dir.valid()) return absl::InvalidArgumentError(strCat("bind source ", source, ": ", strerror(errno)));
    return b;
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(strCat("bind source ", source, " is neither a directory nor a regular file: the kube "
                                             "backend copies binds into the pod, and this cannot be copied"));
  }
  if (size_t(st.st_size) > maxFileBytes) {
    return absl::InvalidArgumentError(strCat("bind source ", source, " has ", st.st_size, " bytes: file binds reach the pod "
                                             "in one ConfigMap, which holds 1 MiB in all (", maxFileBytes,
                                             " bytes left); bind its directory instead"));
  }
  // Reopened through /proc for reading: the very file checked above.
  UniqueFd fd(::open(strCat("/proc/self/fd/", at.get()).c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) return absl::InvalidArgumentError(strCat("bind source ", source, ": ", strerror(errno)));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InvalidArgumentError(strCat("reading bind source ", source, ": ", strerror(errno)));
    if (n == 0) break;
    b.content.append(buf, size_t(n));
    if (b.content.size() > maxFileBytes) return absl::InvalidArgumentError(strCat("bind source ", source, " grew past ", maxFileBytes, " bytes"));
  }
  return b;
}

}  // namespace berth::runtime::kube
