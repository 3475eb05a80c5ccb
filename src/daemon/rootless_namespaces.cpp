#include "daemon/rootless_namespaces.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/host_sockets.h"
#include "util/log.h"
#include "util/process.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/subordinate_ids.h"
#include "util/unique_fd.h"

namespace berth::daemon {
namespace {

constexpr const char* kHolderArg = "__rootless-holder";
constexpr int kHolderExitFd = 3;  // the holder's end of slirp4netns's exit pipe

// A decimal pid, optionally followed by a newline; 0 for anything else.
pid_t parsePid(std::string_view text) {
  if (text.ends_with('\n')) text.remove_suffix(1);
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty() ? pid : 0;
}

std::string holderPidFile(const std::string& stateDir) { return stateDir + "/holder.pid"; }

// The running holder of this state dir, if any: our uid, our binary's
// holder command line for exactly this directory.
std::optional<pid_t> liveHolder(const std::string& stateDir) {
  std::string text = readFileOrEmpty(holderPidFile(stateDir));
  pid_t pid = parsePid(text);
  if (pid <= 1) return std::nullopt;
  struct stat st {};
  if (::stat(strCat("/proc/", pid).c_str(), &st) != 0 || st.st_uid != ::getuid()) return std::nullopt;
  std::string cmdline = readFileOrEmpty(strCat("/proc/", pid, "/cmdline"));
  std::string want = std::string(1, '\0') + kHolderArg + '\0' + stateDir + '\0';
  if (!cmdline.ends_with(want)) return std::nullopt;
  return pid;
}

// One line each way on the set-up socket.
absl::Status sendLine(int fd, const std::string& line) { return writeAll(fd, line + "\n"); }

std::string readLine(int fd) {
  std::string out;
  char c;
  while (true) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') return out;
    out += c;
  }
}

// --- parent side ----------------------------------------------------------

absl::Status writeProcFile(pid_t pid, const char* name, const std::string& text) {
  std::string path = strCat("/proc/", pid, "/", name);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errnoStatus(errno, strCat("open ", path));
  return writeAll(fd.get(), text);
}

// The user's own ids to 0 and its subordinate ranges to 1…, as rootless
// podman and dockerd map them.
absl::Status mapIds(pid_t pid) {
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  std::string user;
  if (passwd* pw = ::getpwuid(uid)) user = pw->pw_name;
  std::vector<IdRange> uids = subordinateIds(readFileOrEmpty("/etc/subuid"), user, uid);
  std::vector<IdRange> gids = subordinateIds(readFileOrEmpty("/etc/subgid"), user, uid);
  if (uids.empty() || gids.empty()) {
    log::warn("no /etc/subuid and /etc/subgid ranges for this user: containers get one id (root inside)",
              {{"user", user}});
    absl::Status s = writeProcFile(pid, "setgroups", "deny");
    if (s.ok()) s = writeProcFile(pid, "uid_map", strCat("0 ", uid, " 1\n"));
    if (s.ok()) s = writeProcFile(pid, "gid_map", strCat("0 ", gid, " 1\n"));
    return s;
  }
  for (auto [tool, own, ranges] : {std::tuple{"newuidmap", uint32_t(uid), &uids}, std::tuple{"newgidmap", uint32_t(gid), &gids}}) {
    std::vector<std::string> args = {tool, strCat(pid), "0", strCat(own), "1"};
    uint32_t next = 1;
    for (const IdRange& r : *ranges) {
      args.insert(args.end(), {strCat(next), strCat(r.start), strCat(r.count)});
      next += r.count;
    }
    absl::StatusOr<std::string> out = runProgram(args);
    if (!out.ok()) return out.status();
  }
  return absl::OkStatus();
}

// slirp4netns on the holder's network namespace: tap0 10.0.2.100/24, the
// default route through it, and exit when `exitFd` sees its other end close.
absl::Status startSlirp(pid_t holder, int exitFd, const std::string& stateDir) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return errnoStatus(errno, "pipe");
  UniqueFd readyRead(ready[0]), readyWrite(ready[1]);
  std::string logPath = stateDir + "/slirp4netns.log";
  pid_t pid = ::fork();
  if (pid < 0) return errnoStatus(errno, "fork");
  if (pid == 0) {
    // Fds 3 and 4: the exit pipe and the ready pipe, the only ones kept.
    int logFd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int devNull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (logFd < 0 || devNull < 0) _exit(127);
    int e = ::fcntl(exitFd, F_DUPFD, 10), r = ::fcntl(readyWrite.get(), F_DUPFD, 10);
    if (e < 0 || r < 0 || ::dup2(devNull, 0) < 0 || ::dup2(logFd, 1) < 0 || ::dup2(logFd, 2) < 0 ||
        ::dup2(e, 3) < 0 || ::dup2(r, 4) < 0) {
      _exit(127);
    }
    ::setsid();  // its own session: a terminal's ^C for the daemon is not for it
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::string target = strCat(holder);
    const char* argv[] = {"slirp4netns",   "--configure", "--mtu=65520", "--disable-host-loopback",
                          "--exit-fd=3",   "--ready-fd=4", target.c_str(), "tap0", nullptr};
    ::execvp(argv[0], const_cast<char* const*>(argv));
    _exit(127);
  }
  readyWrite.reset();
  pollfd p{readyRead.get(), POLLIN, 0};
  int n = ::poll(&p, 1, 15000);
  char c = 0;
  if (n == 1 && ::read(readyRead.get(), &c, 1) == 1 && c == '1') return absl::OkStatus();
  int st = 0;
  if (::waitpid(pid, &st, WNOHANG) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 127) {
    return absl::FailedPreconditionError("slirp4netns could not be started (is the slirp4netns package installed?)");
  }
  return absl::FailedPreconditionError(strCat("slirp4netns did not come up; see ", logPath));
}

// Answers the daemon's set-up requests, then makes host sockets for it and
// forwards signals until it exits; returns its exit status.
[[noreturn]] void runParent(pid_t child, UniqueFd setup, UniqueFd sockets, UniqueFd exitRead, UniqueFd exitWrite,
                            const sigset_t& forwarded, const std::string& stateDir) {
  exitWrite.reset();  // the holder's copy is the one that counts
  while (true) {
    std::string line = readLine(setup.get());
    if (line.empty()) break;  // the daemon is set up (or gone)
    absl::Status s;
    if (line == "map") {
      s = mapIds(child);
    } else if (line.starts_with("slirp ")) {
      pid_t holder = parsePid(std::string_view(line).substr(6));
      if (holder <= 0) {
        s = absl::InvalidArgumentError("bad holder pid");
      } else if (absl::Status slirp = startSlirp(holder, exitRead.get(), stateDir); !slirp.ok()) {
        // The daemon still runs; its containers only lack a way out.
        log::warn("rootless networking has no outbound connectivity", {{"error", std::string(slirp.message())}});
      }
    }
    (void)sendLine(setup.get(), s.ok() ? "ok" : strCat("error ", s.message()));
  }
  setup.reset();
  exitRead.reset();
  UniqueFd sigFd(::signalfd(-1, &forwarded, SFD_CLOEXEC));
  while (true) {
    pollfd p[2] = {{sockets.get(), POLLIN, 0}, {sigFd.get(), POLLIN, 0}};  // poll skips an fd of -1
    if (::poll(p, 2, -1) < 0 && errno != EINTR) break;
    if (sockets.valid() && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !serveHostSocketRequest(sockets.get())) {
      sockets.reset();
    }
    if ((p[1].revents & POLLIN) != 0) {
      signalfd_siginfo si;
      if (::read(sigFd.get(), &si, sizeof si) != ssize_t(sizeof si)) continue;
      if (si.ssi_signo != SIGCHLD) {
        ::kill(child, int(si.ssi_signo));
        continue;
      }
      int st = 0;
      pid_t done;
      while ((done = ::waitpid(-1, &st, WNOHANG)) > 0) {
        if (done != child) continue;  // slirp4netns failing at start
        ::_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
      }
    }
  }
  ::kill(child, SIGKILL);
  ::_exit(1);
}

// --- daemon side ----------------------------------------------------------

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "berth: rootless set-up: %s\n", what.c_str());
  ::_exit(1);
}

absl::Status askParent(int setup, const std::string& request) {
  if (absl::Status s = sendLine(setup, request); !s.ok()) return s;
  std::string reply = readLine(setup);
  if (reply == "ok") return absl::OkStatus();
  if (reply.starts_with("error ")) return absl::FailedPreconditionError(reply.substr(6));
  return absl::UnavailableError("the parent process went away");
}

absl::Status joinHolder(pid_t holder) {
  // The user namespace first: in it we hold the capabilities the others ask for.
  for (const char* ns : {"user", "mnt", "net"}) {
    std::string path = strCat("/proc/", holder, "/ns/", ns);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return errnoStatus(errno, strCat("open ", path));
    if (::setns(fd.get(), 0) != 0) return errnoStatus(errno, strCat("setns ", path));
  }
  return absl::OkStatus();
}

// Forks the holder out of this process (so it shares our namespaces) and
// detaches it: a grandchild, in its own session, keeping only the exit pipe.
absl::StatusOr<pid_t> spawnHolder(const std::string& stateDir, int exitWrite) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return errnoStatus(errno, "pipe");
  UniqueFd reportRead(report[0]), reportWrite(report[1]);
  pid_t mid = ::fork();
  if (mid < 0) return errnoStatus(errno, "fork");
  if (mid == 0) {
    ::setsid();
    pid_t holder = ::fork();
    if (holder != 0) {
      (void)writeAll(reportWrite.get(), strCat(holder));
      _exit(holder > 0 ? 0 : 1);
    }
    if (::dup2(exitWrite, kHolderExitFd) < 0) _exit(127);
    int devNull = ::open("/dev/null", O_RDWR);
    if (devNull >= 0) {
      ::dup2(devNull, 0);
      ::dup2(devNull, 1);
      ::dup2(devNull, 2);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::chdir("/") != 0) _exit(127);
    const char* argv[] = {"berth", kHolderArg, stateDir.c_str(), nullptr};
    ::execv("/proc/self/exe", const_cast<char* const*>(argv));
    _exit(127);
  }
  reportWrite.reset();
  ::waitpid(mid, nullptr, 0);
  std::string text = readLine(reportRead.get());
  pid_t holder = parsePid(text);
  if (holder <= 0) return absl::InternalError("the holder could not be started");
  std::string tmp = holderPidFile(stateDir) + ".tmp";
  {
    UniqueFd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!f.valid() || !writeAll(f.get(), strCat(holder, "\n")).ok()) return errnoStatus(errno, "write " + tmp);
  }
  if (::rename(tmp.c_str(), holderPidFile(stateDir).c_str()) != 0) return errnoStatus(errno, "rename " + tmp);
  return holder;
}

absl::Status createNamespaces(int setup, const std::string& stateDir, int exitWrite) {
  if (::unshare(CLONE_NEWUSER) != 0) {
    return errnoStatus(errno, "unshare(CLONE_NEWUSER) (are unprivileged user namespaces enabled?)");
  }
  if (absl::Status s = askParent(setup, "map"); !s.ok()) return s;
  if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0) return errnoStatus(errno, "becoming root in the user namespace");
  if (::unshare(CLONE_NEWNS | CLONE_NEWNET) != 0) return errnoStatus(errno, "unshare(CLONE_NEWNS|CLONE_NEWNET)");
  // Our mounts stay ours; the host's still reach us.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) return errnoStatus(errno, "make / a slave mount");
  // A new network namespace starts with forwarding off; the bridges route.
  if (absl::Status s = writeAll(UniqueFd(::open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC)).get(), "1");
      !s.ok()) {
    return wrap(s, "enable ip_forward");
  }
  absl::StatusOr<pid_t> holder = spawnHolder(stateDir, exitWrite);
  if (!holder.ok()) return holder.status();
  return askParent(setup, strCat("slirp ", *holder));
}

}  // namespace

absl::Status enterRootlessNamespaces(const std::string& stateDir) {
  std::error_code ec;
  std::filesystem::create_directories(stateDir, ec);
  if (ec) return absl::InternalError(strCat("create ", stateDir, ": ", ec.message()));
  int setupPair[2], socketPair[2], exitPipe[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, setupPair) != 0 ||
      ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, socketPair) != 0 || ::pipe2(exitPipe, O_CLOEXEC) != 0) {
    return errnoStatus(errno, "socketpair");
  }
  UniqueFd setupParent(setupPair[0]), setupChild(setupPair[1]), socketsParent(socketPair[0]),
      socketsChild(socketPair[1]), exitRead(exitPipe[0]), exitWrite(exitPipe[1]);
  sigset_t forwarded, previous;
  sigemptyset(&forwarded);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&forwarded, sig);
  ::sigprocmask(SIG_BLOCK, &forwarded, &previous);
  pid_t parent = ::getpid();
  pid_t child = ::fork();
  if (child < 0) return errnoStatus(errno, "fork");
  if (child > 0) {
    setupChild.reset();
    socketsChild.reset();
    runParent(child, std::move(setupParent), std::move(socketsParent), std::move(exitRead), std::move(exitWrite),
              forwarded, stateDir);
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) _exit(1);
  ::sigprocmask(SIG_SETMASK, &previous, nullptr);
  setupParent.reset();
  socketsParent.reset();
  exitRead.reset();
  absl::Status s;
  if (std::optional<pid_t> holder = liveHolder(stateDir)) {
    s = joinHolder(*holder);
  } else {
    s = createNamespaces(setupChild.get(), stateDir, exitWrite.get());
  }
  if (!s.ok()) die(std::string(s.message()));
  exitWrite.reset();
  setupChild.reset();  // tells the parent set-up is over
  useHostSocketChannel(std::move(socketsChild));
  return absl::OkStatus();
}

namespace {

// Whether a process other than us, the holder and zombies is in our user namespace.
bool othersInNamespace(pid_t holder) {
  struct stat ours {};
  if (::stat("/proc/self/ns/user", &ours) != 0) return true;
  pid_t self = ::getpid();
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return true;
  bool others = false;
  while (dirent* e = ::readdir(proc)) {
    pid_t pid = parsePid(e->d_name);
    if (pid <= 0 || pid == self || pid == holder) continue;
    struct stat st {};
    if (::stat(strCat("/proc/", pid, "/ns/user").c_str(), &st) != 0 || st.st_ino != ours.st_ino ||
        st.st_dev != ours.st_dev) {
      continue;
    }
    // "pid (comm) S …": the state follows the last ')'.
    std::string stat = readFileOrEmpty(strCat("/proc/", pid, "/stat"));
    size_t close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') continue;
    others = true;
    break;
  }
  ::closedir(proc);
  return others;
}

}  // namespace

void releaseRootlessNamespacesIfIdle(const std::string& stateDir) {
  std::optional<pid_t> holder = liveHolder(stateDir);
  if (!holder) return;
  // Monitors of containers removed just now take a moment to exit.
  for (int i = 0; othersInNamespace(*holder); ++i) {
    if (i == 20) return;  // containers still run: the namespaces stay for them
    ::usleep(50 * 1000);
  }
  ::kill(*holder, SIGTERM);
  ::unlink(holderPidFile(stateDir).c_str());
}

int rootlessHolderMain() {
  ::prctl(PR_SET_NAME, "berth-holder");  // not "exe", as /proc/self/exe would name it
  sigset_t wait;
  sigemptyset(&wait);
  sigaddset(&wait, SIGTERM);
  sigaddset(&wait, SIGINT);
  ::sigprocmask(SIG_BLOCK, &wait, nullptr);
  int sig = 0;
  while (::sigwait(&wait, &sig) != 0 || (sig != SIGTERM && sig != SIGINT)) {
  }
  return 0;
}

}  // namespace berth::daemon
