// The setup helper: `berth __container-setup <dir>`, exec'd by the monitor,
// so it starts single-threaded (the daemon never clones containers). Reads
// spec.json, prepares cgroups, clones the container's init into new
// namespaces and, in the child, builds the root filesystem and the process's
// credentials step by step before exec'ing the user's program. Reports on
// fd 3: "warn …" lines, then "pid <host pid>" or "error <message>".
#include "runtime/local/container_setup.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/capabilities.h"
#include "runtime/local/cgroups.h"
#include "runtime/local/seccomp_profile.h"
#include "runtime/monitor_protocol.h"
#include "runtime/spec.h"
#include "runtime/user.h"
#include "util/host_info.h"
#include "util/privileges.h"
#include "util/rooted_fs.h"
#include "util/strings.h"
#include "util/tar_tree.h"
#include "util/tree_copy.h"
#include "util/unique_fd.h"

namespace berth::runtime::local {
namespace {

constexpr int kReportFd = 3;

void report(const std::string& line) { (void)writeAll(kReportFd, line + "\n"); }

// A failed step: the message that reaches the API client (runc's wording
// where clients match on it).
struct SetupError {
  std::string message;
};

[[noreturn]] void fail(const std::string& what) { throw SetupError{what}; }
// Errors read as Go's (lowercase), as runc's do: clients match on
// "no such file or directory" and "permission denied".
std::string errnoText(int err) {
  std::string t = strerror(err);
  if (!t.empty()) t[0] = char(std::tolower(static_cast<unsigned char>(t[0])));
  return t;
}

[[noreturn]] void failErrno(const std::string& what) { fail(strCat(what, ": ", errnoText(errno))); }

std::string fdPath(int fd) { return strCat("/proc/self/fd/", fd); }

unsigned long propagationFlag(const std::string& p) {
  if (p == "shared") return MS_SHARED;
  if (p == "rshared") return MS_SHARED | MS_REC;
  if (p == "slave") return MS_SLAVE;
  if (p == "rslave") return MS_SLAVE | MS_REC;
  if (p == "private") return MS_PRIVATE;
  return MS_PRIVATE | MS_REC;
}

// The mount target for `dest` inside the root, created (as a directory, or
// as an empty file when the source is not a directory) and opened without
// ever leaving the root — a symlinked /proc or ../ in the image stays inside.
UniqueFd openTarget(int rootFd, const std::string& dest, bool directory) {
  if (directory) {
    absl::StatusOr<UniqueFd> d = mkdirAllInRoot(rootFd, dest, 0755);
    if (!d.ok()) fail(strCat("creating mount point ", dest, ": ", d.status().message()));
    return std::move(*d);
  }
  absl::StatusOr<ParentEntry> parent = openParentInRoot(rootFd, dest, true);
  if (!parent.ok()) fail(strCat("creating mount point ", dest, ": ", parent.status().message()));
  // O_PATH: the target may already be a socket or FIFO (a bind of one,
  // reopened), which a real open refuses (ENXIO) or blocks on.
  int dir = parent->dir.get();
  const char* name = parent->name.c_str();
  int fd = ::openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    int created = ::openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (created >= 0 || errno == EEXIST) fd = ::openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (created >= 0) ::close(created);
  }
  if (fd < 0) failErrno(strCat("creating mount point ", dest));
  struct stat st {};
  // O_NOFOLLOW with O_PATH opens a symlink itself: never mount through one the image planted.
  if (::fstat(fd, &st) != 0 || S_ISLNK(st.st_mode)) {
    ::close(fd);
    fail(strCat("creating mount point ", dest, ": it is a symbolic link"));
  }
  return UniqueFd(fd);
}

// Docker's copy-up: a volume still empty takes the image's files at its
// mount point, and that directory's owner and mode (postgres's 0700 data
// directory, say), before it covers them.
void copyUp(int targetFd, const Mount& m) {
  std::string what = strCat("copying the image's ", m.destination, " into volume ", m.volume);
  UniqueFd from(::openat(targetFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd to(::open(m.source.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!from.valid() || !to.valid()) failErrno(what);
  if (!sortedEntries(to.get()).empty()) return;
  if (!copyDirectory(from.get(), to.get())) failErrno(what);
}

void mountAt(const char* source, int targetFd, const char* type, unsigned long flags, const std::string& data,
             const std::string& what) {
  if (::mount(source, fdPath(targetFd).c_str(), type, flags, data.empty() ? nullptr : data.c_str()) != 0) {
    failErrno(strCat("mounting ", what));
  }
}

// A bind mount made read-only: bind, then remount with MS_RDONLY (the
// kernel ignores MS_RDONLY on the first call). Keeps the flags the source
// mount has that an unprivileged remount may not drop.
void remountReadOnly(const std::string& path, unsigned long extra = 0) {
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | extra;
  if (::mount(nullptr, path.c_str(), nullptr, flags, nullptr) == 0) return;
  // In a user namespace the locked flags (nosuid, nodev, noexec) must be kept.
  if (::mount(nullptr, path.c_str(), nullptr, flags | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0) return;
  if (::mount(nullptr, path.c_str(), nullptr, flags | MS_NOSUID | MS_NODEV, nullptr) == 0) return;
  failErrno(strCat("remounting ", path, " read-only"));
}

struct Device {
  const char* path;
  unsigned major, minor;
};
constexpr Device kDevices[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                               {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

void setUpDev(int rootFd, const ContainerSpec& spec, bool userns) {
  UniqueFd dev = openTarget(rootFd, "/dev", true);
  mountAt("tmpfs", dev.get(), "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", "/dev");
  // Reopen: the fd above names the directory under the new tmpfs.
  dev = openTarget(rootFd, "/dev", true);
  for (const Device& d : kDevices) {
    if (!userns && ::mknodat(dev.get(), d.path, S_IFCHR | 0666, makedev(d.major, d.minor)) == 0) {
      ::fchmodat(dev.get(), d.path, 0666, 0);  // the umask took bits away
      continue;
    }
    // In a user namespace mknod is not allowed: bind the host's node.
    UniqueFd target(::openat(dev.get(), d.path, O_RDONLY | O_CREAT | O_CLOEXEC, 0666));
    if (!target.valid()) failErrno(strCat("creating /dev/", d.path));
    mountAt(strCat("/dev/", d.path).c_str(), target.get(), nullptr, MS_BIND, "", strCat("/dev/", d.path));
  }
  struct Link {
    const char* name;
    const char* target;
  };
  for (Link l : {Link{"fd", "/proc/self/fd"}, Link{"stdin", "/proc/self/fd/0"}, Link{"stdout", "/proc/self/fd/1"},
                 Link{"stderr", "/proc/self/fd/2"}, Link{"ptmx", "pts/ptmx"}, Link{"core", "/proc/kcore"}}) {
    ::symlinkat(l.target, dev.get(), l.name);
  }
  UniqueFd pts = openTarget(rootFd, "/dev/pts", true);
  std::string ptsOpts = userns ? "newinstance,ptmxmode=0666,mode=620" : "newinstance,ptmxmode=0666,mode=620,gid=5";
  mountAt("devpts", pts.get(), "devpts", MS_NOSUID | MS_NOEXEC, ptsOpts, "/dev/pts");
  UniqueFd shm = openTarget(rootFd, "/dev/shm", true);
  mountAt("shm", shm.get(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
          strCat("mode=1777,size=", spec.shmSize > 0 ? spec.shmSize : 64 << 20), "/dev/shm");
  UniqueFd mq = openTarget(rootFd, "/dev/mqueue", true);
  if (::mount("mqueue", fdPath(mq.get()).c_str(), "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    report(strCat("warn /dev/mqueue not mounted: ", strerror(errno)));
  }
  if (spec.terminal) {
    // /dev/console is the container's terminal, as with runc.
    char name[256];
    ssize_t n = ::readlink("/proc/self/fd/0", name, sizeof name - 1);
    if (n > 0) {
      name[n] = 0;
      UniqueFd console(::openat(dev.get(), "console", O_RDONLY | O_CREAT | O_CLOEXEC, 0600));
      if (console.valid()) (void)::mount(name, fdPath(console.get()).c_str(), nullptr, MS_BIND, nullptr);
    }
  }
}

void setUpRootfs(const ContainerSpec& spec, bool userns) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) failErrno("making / private");
  std::string lower = join(spec.lowerDirs, ":");
  std::string opts = strCat("lowerdir=", lower, ",upperdir=", spec.upperDir, ",workdir=", spec.workDir);
  if (userns) opts += ",userxattr";
  if (::mount("overlay", spec.rootfs.c_str(), "overlay", 0, opts.c_str()) != 0) failErrno("mounting the overlay rootfs");
  UniqueFd root(::open(spec.rootfs.c_str(), O_DIRECTORY | O_PATH | O_CLOEXEC));
  if (!root.valid()) failErrno("opening the rootfs");

  {
    UniqueFd proc = openTarget(root.get(), "/proc", true);
    mountAt("proc", proc.get(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "", "/proc");
  }
  setUpDev(root.get(), spec, userns);
  {
    UniqueFd sys = openTarget(root.get(), "/sys", true);
    unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (spec.privileged ? 0 : MS_RDONLY);
    if (::mount("sysfs", fdPath(sys.get()).c_str(), "sysfs", flags, nullptr) != 0) {
      // Without a network namespace of our own user namespace sysfs cannot
      // be mounted: bind the host's read-only instead.
      mountAt("/sys", sys.get(), nullptr, MS_BIND | MS_REC, "", "/sys");
      if (!spec.privileged) remountReadOnly(fdPath(sys.get()), MS_REC);
    }
  }
  for (const Mount& m : spec.mounts) {
    if (m.type == "tmpfs") {
      UniqueFd t = openTarget(root.get(), m.destination, true);
      std::string data = m.options.empty() ? "mode=1777" : m.options;
      mountAt("tmpfs", t.get(), "tmpfs", MS_NOSUID | MS_NODEV | (m.readOnly ? MS_RDONLY : 0), data, m.destination);
      continue;
    }
    struct stat st {};
    if (::stat(m.source.c_str(), &st) != 0) failErrno(strCat("bind source ", m.source));
    UniqueFd t = openTarget(root.get(), m.destination, S_ISDIR(st.st_mode));
    if (m.copyUp && S_ISDIR(st.st_mode)) copyUp(t.get(), m);
    mountAt(m.source.c_str(), t.get(), nullptr, MS_BIND | MS_REC, "", m.destination);
    // Reopen through the new mount so the remounts act on it.
    UniqueFd mounted = openTarget(root.get(), m.destination, S_ISDIR(st.st_mode));
    if (m.readOnly) remountReadOnly(fdPath(mounted.get()), MS_REC);
    (void)::mount(nullptr, fdPath(mounted.get()).c_str(), nullptr, propagationFlag(m.propagation), nullptr);
  }
  struct EtcFile {
    const std::string& source;
    const char* dest;
  };
  for (EtcFile f : {EtcFile{spec.hostsFile, "/etc/hosts"}, EtcFile{spec.resolvConfFile, "/etc/resolv.conf"},
                    EtcFile{spec.hostnameFile, "/etc/hostname"}}) {
    if (f.source.empty()) continue;
    bool covered = false;  // a user mount on the same path wins
    for (const Mount& m : spec.mounts) covered = covered || m.destination == f.dest;
    if (covered) continue;
    UniqueFd t = openTarget(root.get(), f.dest, false);
    mountAt(f.source.c_str(), t.get(), nullptr, MS_BIND, "", f.dest);
  }

  // pivot_root into the new root; the old one is detached.
  if (::chdir(spec.rootfs.c_str()) != 0) failErrno("chdir to the rootfs");
  if (::syscall(SYS_pivot_root, ".", ".") != 0) failErrno("pivot_root");
  if (::umount2(".", MNT_DETACH) != 0) failErrno("detaching the old root");
  if (::chdir("/") != 0) failErrno("chdir /");

  if (!spec.privileged) {
    for (const std::string& p : spec.readonlyPaths) {
      if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) continue;  // absent: fine
      remountReadOnly(p, MS_REC);
    }
    for (const std::string& p : spec.maskedPaths) {
      struct stat st {};
      if (::lstat(p.c_str(), &st) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        (void)::mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, nullptr);
      } else {
        (void)::mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr);
      }
    }
  }
  if (spec.readonlyRootfs) remountReadOnly("/");
}

// rlimit names as Docker's --ulimit spells them.
int rlimitResource(const std::string& name) {
  static const std::pair<const char*, int> kNames[] = {
      {"core", RLIMIT_CORE},       {"cpu", RLIMIT_CPU},         {"data", RLIMIT_DATA},     {"fsize", RLIMIT_FSIZE},
      {"locks", RLIMIT_LOCKS},     {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
      {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},     {"rss", RLIMIT_RSS},       {"rtprio", RLIMIT_RTPRIO},
      {"rttime", RLIMIT_RTTIME},   {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK}};
  for (auto [n, r] : kNames) {
    if (name == n) return r;
  }
  return -1;
}

// A new network namespace starts with loopback down; Docker's "none" has it up.
void bringUpLoopback() {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (!s.valid() || ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) failErrno("reading the loopback interface");
  ifr.ifr_flags = short(ifr.ifr_flags | IFF_UP);
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) failErrno("bringing up the loopback interface");
}

void applyProcessSettings(const ContainerSpec& spec) {
  if (spec.netMode == "private") bringUpLoopback();
  if (spec.utsMode != "host") {
    if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0) failErrno("sethostname");
    if (!spec.domainname.empty() && ::setdomainname(spec.domainname.data(), spec.domainname.size()) != 0) {
      failErrno("setdomainname");
    }
  }
  for (const auto& [key, value] : spec.sysctls) {
    std::string path = "/proc/sys/" + key;
    for (char& c : path) c = c == '.' ? '/' : c;
    // /proc/sys is read-only from here on; write through a fresh proc handle.
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid() || !writeAll(fd.get(), value).ok()) report(strCat("warn sysctl ", key, " not set: ", strerror(errno)));
  }
  for (const Rlimit& l : spec.rlimits) {
    int res = rlimitResource(l.name);
    if (res < 0) continue;
    rlimit rl{rlim_t(l.soft), rlim_t(l.hard)};
    if (::setrlimit(res, &rl) != 0) {
      // Raising a hard limit needs CAP_SYS_RESOURCE, which root may lack here.
      report(strCat("warn ulimit ", l.name, "=", l.soft, ":", l.hard, " not applied: ", strerror(errno)));
    }
  }
  if (spec.oomScoreAdj != 0) {
    UniqueFd fd(::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
    if (!fd.valid() || !writeAll(fd.get(), strCat(spec.oomScoreAdj)).ok()) {
      report(strCat("warn oom_score_adj ", spec.oomScoreAdj, " not applied: ", strerror(errno)));
    }
  }
}

// Bounding set, then uid/gid (keeping capabilities across the change), then
// the sets the process keeps; a non-root user loses them at exec, as on dockerd.
void applyCredentials(const ContainerSpec& spec, const ExecUser& user) {
  std::set<int> keep;
  for (const std::string& c : spec.capabilities) {
    if (auto n = capabilityNumber(c)) keep.insert(*n);
  }
  for (int cap = 0, last = lastCapability(); cap <= last; ++cap) {
    if (!keep.contains(cap) && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      failErrno("dropping capabilities");
    }
  }
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) failErrno("PR_SET_KEEPCAPS");
  std::vector<gid_t> groups(user.additionalGids.begin(), user.additionalGids.end());
  if (::setgroups(groups.size(), groups.data()) != 0 && !(groups.empty() && errno == EPERM)) {
    failErrno("setgroups");
  }
  if (::setresgid(user.gid, user.gid, user.gid) != 0) failErrno(strCat("setgid ", user.gid));
  if (::setresuid(user.uid, user.uid, user.uid) != 0) failErrno(strCat("setuid ", user.uid));
  ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  for (int cap : keep) {
    data[cap / 32].effective |= 1u << (cap % 32);
    data[cap / 32].permitted |= 1u << (cap % 32);
    data[cap / 32].inheritable |= 1u << (cap % 32);
  }
  if (::syscall(SYS_capset, &hdr, data) != 0) failErrno("setting capabilities");
}

// The program to run: args[0] as a path, or looked up in the container's
// PATH (not ours) — with runc's error texts, which the docker CLI maps to
// exit codes 126 and 127.
std::string findExecutable(const ContainerSpec& spec) {
  const std::string& name = spec.args.front();
  if (name.find('/') != std::string::npos) {
    struct stat st {};
    if (::stat(name.c_str(), &st) != 0) fail(strCat("exec: \"", name, "\": stat ", name, ": ", errnoText(errno)));
    return name;
  }
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const std::string& e : spec.env) {
    if (e.starts_with("PATH=")) path = e.substr(5);
  }
  for (std::string_view dir : split(path, ':')) {
    std::string candidate = strCat(dir.empty() ? "." : dir, "/", name);
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) return candidate;
  }
  fail(strCat("exec: \"", name, "\": executable file not found in $PATH"));
}

// What container init and exec share once inside the container's root:
// the user, the working directory, seccomp, credentials, then execve.
[[noreturn]] void execProcess(const ContainerSpec& spec) {
  UniqueFd root(::open("/", O_DIRECTORY | O_PATH | O_CLOEXEC));
  absl::StatusOr<ExecUser> user = resolveUser(root.get(), spec.user, spec.groupAdd);
  if (!user.ok()) fail(std::string(user.status().message()));
  // The working directory, created when missing, opened inside the root and
  // never through a magic link: a workdir of /proc/self/fd/N cannot reach a
  // leaked host directory (CVE-2024-21626).
  absl::StatusOr<UniqueFd> cwd = mkdirAllInRoot(root.get(), spec.cwd, 0755);
  if (!cwd.ok()) fail(strCat("cannot use \"", spec.cwd, "\" as the working directory: ", cwd.status().message()));
  std::vector<std::string> env = spec.env;
  bool hasHome = false;
  for (const std::string& e : env) hasHome = hasHome || e.starts_with("HOME=");
  if (!hasHome) env.push_back("HOME=" + user->home);
  if (spec.seccomp && !spec.privileged) {
    // Installed while we still hold CAP_SYS_ADMIN, so no_new_privs is not forced.
    absl::Status st = installDefaultSeccomp(spec.capabilities);
    if (!st.ok()) fail(std::string(st.message()));
  }
  applyCredentials(spec, *user);
  if (spec.noNewPrivileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) failErrno("no_new_privs");
  if (::fchdir(cwd->get()) != 0) failErrno(strCat("chdir ", spec.cwd));
  std::string exe = findExecutable(spec);
  // Nothing of ours crosses into the container's program.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  std::vector<char*> argv, envp;
  for (const auto& a : spec.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(exe.c_str(), argv.data(), envp.data());
  if (errno == EACCES) fail(strCat("exec: \"", spec.args.front(), "\": permission denied"));
  failErrno(strCat("exec: \"", spec.args.front(), "\""));
}

// --init: pid 1 stays ours, a minimal init that forwards signals to the
// program and reaps every orphan (zombies of the program's children), then
// exits with the program's status. Holds no capabilities and no fds.
void runInit(const ContainerSpec& spec) {
  sigset_t all, old;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = ::fork();
  if (child < 0) failErrno("fork for --init");
  if (child == 0) {
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    execProcess(spec);  // the program (its errors reach the helper as usual)
  }
  ::close_range(3, ~0U, 0);
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  (void)clearCapabilitySets();
  for (;;) {
    siginfo_t si{};
    int sig = ::sigwaitinfo(&all, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      ::kill(child, sig);
      continue;
    }
    int st = 0;
    for (pid_t p; (p = ::waitpid(-1, &st, WNOHANG)) > 0;) {
      if (p != child) continue;
      _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
  }
}

// Everything after the namespaces exist; ends in execve or throws.
[[noreturn]] void containerInit(const ContainerSpec& spec, int syncFd) {
  char go = 0;
  if (::read(syncFd, &go, 1) != 1) _exit(1);  // the parent went away
  ::close(syncFd);
  bool userns = !spec.uidMappings.empty();
  if (userns) {
    if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0) failErrno("becoming root in the user namespace");
  }
  if (::unshare(CLONE_NEWCGROUP) != 0) report(strCat("warn no cgroup namespace: ", strerror(errno)));
  if (spec.terminal) {
    ::setsid();
    if (::ioctl(0, TIOCSCTTY, 0) != 0) report(strCat("warn TIOCSCTTY: ", strerror(errno)));
  }
  // Also in the rootless daemon's own user namespace, which the container shares.
  setUpRootfs(spec, userns || !inInitialUserNamespace());
  applyProcessSettings(spec);
  if (spec.init) runInit(spec);
  execProcess(spec);
}

void writeIdMap(pid_t pid, const char* file, const std::vector<IdMapping>& maps) {
  std::string text;
  for (const IdMapping& m : maps) text += strCat(m.containerId, " ", m.hostId, " ", m.size, "\n");
  std::string path = strCat("/proc/", pid, "/", file);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid() || !writeAll(fd.get(), text).ok()) failErrno(strCat("writing ", path));
}

// Maps more than our own id need the setuid helpers (newuidmap/newgidmap)
// with the ranges /etc/subuid and /etc/subgid grant us.
void mapIds(pid_t pid, const ContainerSpec& spec) {
  bool single = spec.uidMappings.size() == 1 && spec.uidMappings[0].size == 1 && spec.gidMappings.size() == 1 &&
                spec.gidMappings[0].size == 1;
  if (single || ::geteuid() == 0) {
    if (::geteuid() != 0) {
      UniqueFd fd(::open(strCat("/proc/", pid, "/setgroups").c_str(), O_WRONLY | O_CLOEXEC));
      if (fd.valid()) (void)writeAll(fd.get(), "deny");
    }
    writeIdMap(pid, "uid_map", spec.uidMappings);
    writeIdMap(pid, "gid_map", spec.gidMappings);
    return;
  }
  for (auto [tool, maps] : {std::pair{"newuidmap", &spec.uidMappings}, std::pair{"newgidmap", &spec.gidMappings}}) {
    std::vector<std::string> args = {tool, strCat(pid)};
    for (const IdMapping& m : *maps) {
      args.push_back(strCat(m.containerId));
      args.push_back(strCat(m.hostId));
      args.push_back(strCat(m.size));
    }
    pid_t child = ::fork();
    if (child == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp(tool, argv.data());
      _exit(127);
    }
    int st = 0;
    ::waitpid(child, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail(strCat(tool, " failed (are /etc/subuid and /etc/subgid set up?)"));
  }
}

// The exec pipe closes on the child's successful execve (it is CLOEXEC);
// anything read from it is the child's "error …". Reports the outcome and
// returns the helper's exit status.
int reportExec(pid_t pid, int execRead) {
  std::string err;
  char buf[4096];
  for (ssize_t n; (n = ::read(execRead, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    err.append(buf, size_t(n));
  }
  ::close(execRead);
  if (!err.empty()) {
    ::waitpid(pid, nullptr, 0);
    if (err.back() == '\n') err.pop_back();
    report(err);
    return 1;
  }
  report(strCat("pid ", pid));
  return 0;
}

int runSetup(const char* dir) {
  if (::chdir(dir) != 0) failErrno(strCat("chdir ", dir));
  absl::StatusOr<ContainerSpec> spec = specFromJson(readFileOrEmpty("spec.json"));
  if (!spec.ok()) fail(std::string(spec.status().message()));
  if (spec->args.empty()) fail("no command specified");
  std::vector<std::string> warnings;
  absl::Status cg = createCgroups(spec->cgroupPaths, spec->resources, warnings);
  for (const auto& w : warnings) report("warn " + w);
  if (!cg.ok()) fail(std::string(cg.message()));

  int sync[2], exec[2];
  if (::pipe2(sync, O_CLOEXEC) != 0 || ::pipe2(exec, O_CLOEXEC) != 0) failErrno("pipe");
  unsigned long flags = CLONE_NEWNS | CLONE_NEWIPC | SIGCHLD;
  if (spec->pidMode != "host") flags |= CLONE_NEWPID;
  if (spec->utsMode != "host") flags |= CLONE_NEWUTS;
  if (spec->netMode == "private") flags |= CLONE_NEWNET;
  if (spec->netMode == "path") {
    // The namespace the engine set up (veths, addresses, routes) before start.
    int ns = ::open(spec->netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) failErrno(strCat("joining the network namespace ", spec->netnsPath));
    ::close(ns);
  }
  if (spec->ipcMode == "host") flags &= ~static_cast<unsigned long>(CLONE_NEWIPC);
  if (!spec->uidMappings.empty()) flags |= CLONE_NEWUSER;
  // A fork into new namespaces; we are single-threaded, so this is safe.
  long pid = ::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, 0);
  if (pid < 0) failErrno("creating the container's namespaces");
  if (pid == 0) {
    ::close(sync[1]);
    ::close(exec[0]);
    try {
      containerInit(*spec, sync[0]);
    } catch (const SetupError& e) {
      (void)writeAll(exec[1], "error " + e.message + "\n");
      _exit(127);
    }
  }
  ::close(sync[0]);
  ::close(exec[1]);
  try {
    if (!spec->uidMappings.empty()) mapIds(pid_t(pid), *spec);
    absl::Status j = joinCgroups(spec->cgroupPaths, pid_t(pid));
    if (!j.ok()) fail(std::string(j.message()));
  } catch (const SetupError&) {
    ::kill(pid_t(pid), SIGKILL);
    ::waitpid(pid_t(pid), nullptr, 0);
    throw;
  }
  if (::write(sync[1], "g", 1) != 1) failErrno("starting the container");
  ::close(sync[1]);
  return reportExec(pid_t(pid), exec[0]);
}

// Exec: joins a running container — its cgroups, then its namespaces, then
// its root — and forks into its pid namespace for the program. `dir` is the
// exec's directory inside the container's (…/<container>/exec/<exec id>).
int runExec(const char* dir) {
  // Nothing here may be read by the container's processes while we hold
  // host fds (CVE-2019-5736): not dumpable, so no ptrace or /proc/<pid>/fd.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (::chdir(dir) != 0) failErrno(strCat("chdir ", dir));
  absl::StatusOr<ContainerSpec> spec = specFromJson(readFileOrEmpty("spec.json"));
  if (!spec.ok()) fail(std::string(spec.status().message()));
  if (spec->args.empty()) fail("no command specified");
  pid_t init = monitor::initPidFrom(readFileOrEmpty(strCat("../../", monitor::kPidFile)));
  if (init <= 0) fail(strCat("container ", spec->id, " is not running"));
  absl::Status cg = joinCgroups(spec->cgroupPaths, ::getpid());
  if (!cg.ok()) report(strCat("warn ", cg.message()));
  // Open everything first: after the mount namespace changes, /proc/<init> is another view.
  std::vector<std::pair<UniqueFd, int>> namespaces;
  bool userns = !spec->uidMappings.empty();
  struct Ns {
    const char* name;
    int flag;
  };
  for (Ns ns : {Ns{"user", CLONE_NEWUSER}, Ns{"cgroup", CLONE_NEWCGROUP}, Ns{"ipc", CLONE_NEWIPC},
                Ns{"uts", CLONE_NEWUTS}, Ns{"net", CLONE_NEWNET}, Ns{"pid", CLONE_NEWPID}, Ns{"mnt", CLONE_NEWNS}}) {
    if (ns.flag == CLONE_NEWUSER && !userns) continue;
    std::string path = strCat("/proc/", init, "/ns/", ns.name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) failErrno(strCat("opening ", path));
    namespaces.emplace_back(std::move(fd), ns.flag);
  }
  UniqueFd root(::open(strCat("/proc/", init, "/root").c_str(), O_DIRECTORY | O_PATH | O_CLOEXEC));
  if (!root.valid()) failErrno("opening the container's root");
  for (auto& [fd, flag] : namespaces) {
    // A namespace we already share (host mode) is skipped by the kernel check.
    if (::setns(fd.get(), flag) != 0 && errno != EINVAL) failErrno("joining the container's namespaces");
  }
  if (::fchdir(root.get()) != 0 || ::chroot(".") != 0 || ::chdir("/") != 0) failErrno("entering the container's root");
  if (userns && (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0)) failErrno("becoming root in the user namespace");
  int exec[2];
  if (::pipe2(exec, O_CLOEXEC) != 0) failErrno("pipe");
  pid_t pid = ::fork();  // the pid namespace applies to children only
  if (pid < 0) failErrno("fork");
  if (pid == 0) {
    ::close(exec[0]);
    try {
      if (spec->terminal) {
        ::setsid();
        (void)::ioctl(0, TIOCSCTTY, 0);
      }
      execProcess(*spec);
    } catch (const SetupError& e) {
      (void)writeAll(exec[1], "error " + e.message + "\n");
      _exit(127);
    }
  }
  ::close(exec[1]);
  return reportExec(pid, exec[0]);
}

}  // namespace

int containerExecMain(const char* dir) {
  try {
    return runExec(dir);
  } catch (const SetupError& e) {
    report("error " + e.message);
    return 1;
  }
}

int containerSetupMain(const char* dir) {
  try {
    return runSetup(dir);
  } catch (const SetupError& e) {
    report("error " + e.message);
    return 1;
  }
}

}  // namespace berth::runtime::local
