#include "util/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/strings.h"
#include "util/unique_fd.h"

namespace berth {

absl::StatusOr<std::string> runProgram(const std::vector<std::string>& args, std::string_view input) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  UniqueFd readEnd(p[0]), writeEnd(p[1]);
  // stdin from a memory file: however large, writing it cannot block on a
  // child that is busy writing its output.
  UniqueFd in(::memfd_create("stdin", MFD_CLOEXEC));
  if (!in.valid()) return absl::InternalError(strCat("memfd_create: ", strerror(errno)));
  absl::Status w = writeAll(in.get(), input);
  if (!w.ok()) return w;
  ::lseek(in.get(), 0, SEEK_SET);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, writeEnd.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, writeEnd.get(), 2);
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  writeEnd.reset();
  if (rc != 0) return absl::InternalError(strCat("running ", args[0], ": ", strerror(rc)));
  std::string out;
  char buf[8192];
  for (ssize_t n; (n = ::read(readEnd.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.append(buf, size_t(n));
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return absl::InternalError(strCat(args[0], ": ", trim(out)));
  return out;
}

}  // namespace berth
