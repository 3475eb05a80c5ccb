// berth-kubehelper: the kube backend's helper inside each pod. Static and
// libc-only, so it runs in any image (distroless and scratch included).
//
//   install DIR            copy this binary to DIR (the init container does this)
//   run [--gate] [--tty] -- ARGS...
//                          run ARGS as the container's process: stdout and
//                          stderr pass through and are kept apart in DIR's
//                          log; signals are forwarded; orphans reaped; the
//                          exit code is the process's (128+N for signal N).
//                          --gate: first wait until `release`. --tty: ARGS
//                          get a terminal of the helper's own, between them
//                          and the pod's, so their output is logged too.
//   exec [--framed-stdin] [--cwd DIR] [--user U[:G]] [--env K=V]... -- ARGS...
//                          docker exec: ARGS with exactly these variables, in
//                          DIR, as U (a name or number, from the container's
//                          /etc/passwd and /etc/group). --framed-stdin: stdin
//                          comes in stdin_frames.h's frames, so its end can be
//                          told through a stream that cannot half-close.
//   release                let a gated `run` go on (archives have landed)
//   signal N               deliver signal N to the process `run` started
//   started                wait until `run` has started the process (exit 0)
//                          or could not (runc's text on stdout, 126 or 127)
//   logs [--follow] [--tail N]
//                          the log's records (from the last N lines);
//                          and a marker record once they are out;
//                          --follow: until the process exited, then
//                          "exited <code>" on stderr
//   serve                  the sidecar: waits until the pod goes (SIGTERM), so
//                          the log stays readable after the process exited
//
// DIR is /.berth: an emptyDir shared by the init and main containers.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/kube/stdin_frames.h"
#include "runtime/log_writer.h"

namespace {

namespace logfmt = berth::runtime::logfmt;

// /.berth in a pod; tests point it elsewhere.
const char* kDir = getenv("BERTH_KUBEHELPER_DIR") != nullptr ? getenv("BERTH_KUBEHELPER_DIR") : "/.berth";

std::string path(const char* name) { return std::string(kDir) + "/" + name; }

bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

std::string readFile(const std::string& p) {
  std::string out;
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

// Writes a small file whole, visible only when complete.
bool writeFileAtomic(const std::string& p, const std::string& content, mode_t mode = 0644) {
  std::string tmp = p + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return false;
  bool ok = logfmt::writeAll(fd, content.data(), content.size());
  ok = ::close(fd) == 0 && ok;
  return ok && ::rename(tmp.c_str(), p.c_str()) == 0;
}

int fail(const std::string& message, int code = 1) {
  std::string line = "berth-kubehelper: " + message + "\n";
  logfmt::writeAll(2, line.data(), line.size());
  return code;
}

// A message for the user of `docker exec`, as runc words it (no prefix).
int report(const std::string& message, int code) {
  std::string line = message + "\n";
  logfmt::writeAll(2, line.data(), line.size());
  return code;
}

int install(const char* dir) {
  int in = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (in < 0) return fail(std::string("open /proc/self/exe: ") + strerror(errno));
  std::string target = std::string(dir) + "/berth-kubehelper";
  std::string tmp = target + ".tmp";
  int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (out < 0) return fail("create " + tmp + ": " + strerror(errno));
  char buf[65536];
  ssize_t n;
  while ((n = ::read(in, buf, sizeof buf)) > 0) {
    if (!logfmt::writeAll(out, buf, size_t(n))) return fail("write " + tmp + ": " + strerror(errno));
  }
  if (n < 0 || ::fchmod(out, 0755) != 0 || ::close(out) != 0) return fail("copy to " + tmp + ": " + strerror(errno));
  ::close(in);
  if (::rename(tmp.c_str(), target.c_str()) != 0) return fail("rename " + target + ": " + strerror(errno));
  return 0;
}

// Blocks until `file` exists in kDir (inotify; a read timeout re-checks).
void waitForFile(const char* name) {
  std::string p = path(name);
  int in = inotify_init1(IN_CLOEXEC);
  if (in >= 0) inotify_add_watch(in, kDir, IN_CREATE | IN_MOVED_TO);
  while (!exists(p)) {
    if (in < 0) {
      usleep(20000);
      continue;
    }
    pollfd pfd{in, POLLIN, 0};
    if (poll(&pfd, 1, 1000) > 0) {
      char buf[4096];
      (void)!::read(in, buf, sizeof buf);
    }
  }
  if (in >= 0) ::close(in);
}

// What runc says when a process cannot start, so clients see dockerd's text.
std::string execError(const char* file, int err) {
  std::string f = file;
  if (err == ENOENT && f.find('/') == std::string::npos) {
    return "exec: \"" + f + "\": executable file not found in $PATH";
  }
  if (err == ENOENT) return "exec: \"" + f + "\": stat " + f + ": no such file or directory";
  if (err == EACCES) return "exec: \"" + f + "\": permission denied";
  return "exec: \"" + f + "\": " + strerror(err);
}

// A terminal for the process: the master's fd and the slave's path; the
// pod's terminal (our stdin), when there is one, goes raw so that bytes
// pass it unchanged, and lends its size.
int openTerminal(std::string& slavePath) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return -1;
  char name[128];
  if (ptsname_r(master, name, sizeof name) != 0) return -1;
  slavePath = name;
  if (isatty(0)) {
    winsize ws {};
    if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
    termios t {};
    if (tcgetattr(0, &t) == 0) {
      cfmakeraw(&t);
      tcsetattr(0, TCSANOW, &t);
    }
  }
  return master;
}

// The child's side of a terminal: a session of its own with it as stdio.
void becomeTerminalChild(const std::string& slavePath) {
  setsid();
  int slave = ::open(slavePath.c_str(), O_RDWR);
  if (slave < 0) return;
  ioctl(slave, TIOCSCTTY, 0);
  dup2(slave, 0);
  dup2(slave, 1);
  dup2(slave, 2);
  if (slave > 2) ::close(slave);
}

// Reports a failed exec the way runc words it, with its exit code.
int execFailed(const char* file, int err) { return report(execError(file, err), err == EACCES ? 126 : 127); }

int run(bool gate, bool tty, char** args) {
  if (gate) waitForFile("released");
  logfmt::LogWriter log(0, 1, path(logfmt::kLogFile));
  if (!log.open()) return fail("cannot open the log in " + std::string(kDir) + ": " + strerror(errno));

  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, nullptr);
  int sigFd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);

  int out[2] = {-1, -1}, err[2] = {-1, -1}, status[2];
  std::string slavePath;
  int master = -1;
  if (tty) {
    master = openTerminal(slavePath);
    if (master < 0) return fail(std::string("cannot open a terminal: ") + strerror(errno));
  } else if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    return fail("pipe failed");
  }
  if (pipe2(status, O_CLOEXEC) != 0) return fail("pipe failed");
  pid_t child = fork();
  if (child < 0) return fail(std::string("fork: ") + strerror(errno));
  if (child == 0) {
    sigprocmask(SIG_UNBLOCK, &all, nullptr);
    if (tty) {
      becomeTerminalChild(slavePath);
    } else {
      dup2(out[1], 1);
      dup2(err[1], 2);
    }
    execvp(args[0], args);
    int e = errno;
    (void)!::write(status[1], &e, sizeof e);
    _exit(127);
  }
  ::close(status[1]);
  if (!tty) {
    ::close(out[1]);
    ::close(err[1]);
  }
  int execErrno = 0;
  if (::read(status[0], &execErrno, sizeof execErrno) == sizeof execErrno) {
    std::string msg = execError(args[0], execErrno);
    int code = execErrno == EACCES ? 126 : 127;
    // Kubernetes bind-mounts the termination log: written in place, not renamed over.
    int log = ::open("/dev/termination-log", O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (log >= 0) {
      logfmt::writeAll(log, msg.data(), msg.size());
      ::close(log);
    }
    writeFileAtomic(path("exec-error"), msg);
    writeFileAtomic(path("exited"), std::to_string(code) + "\n");
    fail(msg);
    return code;
  }
  ::close(status[0]);
  writeFileAtomic(path("child.pid"), std::to_string(child) + "\n");

  logfmt::LineSplitter lines[2] = {logfmt::LineSplitter(logfmt::kStdout), logfmt::LineSplitter(logfmt::kStderr)};
  // With a terminal, its master is the process's output and takes the pod's stdin.
  int fds[2] = {tty ? master : out[0], tty ? -1 : err[0]};
  int input = tty && isatty(0) ? 0 : -1;
  bool exited = false;
  int code = 0;
  uint64_t drainDeadline = 0;
  while (true) {
    bool open = fds[0] >= 0 || fds[1] >= 0;
    // Grandchildren may keep the pipes open: two seconds after the exit, stop waiting for them.
    if (exited && (!open || logfmt::nowNanos() > drainDeadline)) break;
    pollfd pfds[4] = {{sigFd, POLLIN, 0}, {fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}, {input, POLLIN, 0}};
    int r = poll(pfds, 4, exited ? 100 : -1);
    if (r < 0 && errno != EINTR) break;
    if (pfds[0].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sigFd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH && tty) {  // the pod's terminal was resized: pass the size on
          winsize ws {};
          if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
          continue;
        }
        if (si.ssi_signo != SIGCHLD) {
          kill(child, int(si.ssi_signo));
          continue;
        }
        int st;
        pid_t p;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
          if (p != child) continue;  // an orphan reaped: we are pid 1
          exited = true;
          code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          drainDeadline = logfmt::nowNanos() + 2000000000ull;
        }
      }
    }
    if (input >= 0 && (pfds[3].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[4096];
      ssize_t n = ::read(input, buf, sizeof buf);
      if (n > 0) {
        logfmt::writeAll(master, buf, size_t(n));
      } else if (n == 0 || errno != EINTR) {
        input = -1;
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i] < 0 || !(pfds[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t n = ::read(fds[i], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      uint64_t t = logfmt::nowNanos();
      if (n <= 0) {  // a terminal's master says EIO once no process holds its slave
        lines[i].flush(log, t);
        ::close(fds[i]);
        fds[i] = -1;
        continue;
      }
      logfmt::writeAll(i + 1, buf, size_t(n));
      lines[i].feed(log, buf, size_t(n), t);
    }
    log.flush();
  }
  uint64_t t = logfmt::nowNanos();
  for (auto& l : lines) l.flush(log, t);
  log.flush();
  writeFileAtomic(path("exited"), std::to_string(code) + "\n");
  return code;
}

// The fields of the first line of a passwd- or group-format file whose
// field `key` is `value`; empty when none is.
std::vector<std::string> findEntry(const char* file, size_t key, const std::string& value) {
  std::string text = readFile(file);
  for (size_t at = 0; at < text.size();) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    std::vector<std::string> fields;
    for (size_t f = at; f <= nl;) {
      size_t c = text.find(':', f);
      if (c == std::string::npos || c > nl) c = nl;
      fields.push_back(text.substr(f, c - f));
      f = c + 1;
    }
    at = nl + 1;
    if (fields.size() >= 3 && fields.size() > key && fields[key] == value) return fields;
  }
  return {};
}

bool isNumber(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

// Becomes `user` ("u", "u:g"; names or numbers, as runc resolves them);
// runc's texts when it cannot.
bool becomeUser(const std::string& user) {
  if (user.empty()) return true;
  size_t colon = user.find(':');
  std::string u = user.substr(0, colon), g = colon == std::string::npos ? "" : user.substr(colon + 1);
  std::vector<std::string> pw = findEntry("/etc/passwd", isNumber(u) ? 2 : 0, u);
  if (pw.empty() && !isNumber(u)) {
    report("unable to find user " + u + ": no matching entries in passwd file", 126);
    return false;
  }
  long uid = strtol(isNumber(u) ? u.c_str() : pw[2].c_str(), nullptr, 10);
  long gid = pw.size() > 3 ? strtol(pw[3].c_str(), nullptr, 10) : 0;
  if (!g.empty()) {
    std::vector<std::string> gr = isNumber(g) ? std::vector<std::string>{} : findEntry("/etc/group", 0, g);
    if (gr.empty() && !isNumber(g)) {
      report("unable to find group " + g + ": no matching entries in group file", 126);
      return false;
    }
    gid = strtol(isNumber(g) ? g.c_str() : gr[2].c_str(), nullptr, 10);
  }
  gid_t groups[1] = {gid_t(gid)};
  if ((geteuid() == 0 && setgroups(1, groups) != 0) || setgid(gid_t(gid)) != 0 || setuid(uid_t(uid)) != 0) {
    report("cannot run as " + user + ": " + strerror(errno), 126);
    return false;
  }
  return true;
}

struct ExecOptions {
  bool framedStdin = false;
  std::string cwd, user;
  std::vector<std::string> env;
  bool envGiven = false;
};

// Copies framed stdin into `to` until its end frame or the stream's end,
// and waits for `child` (whose SIGCHLD `sigFd` reads).
int pumpFramedStdin(int to, pid_t child, int sigFd) {
  std::string buffer;
  int input = 0;
  while (true) {
    int st = 0;
    if (waitpid(child, &st, WNOHANG) == child) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    pollfd pfds[2] = {{sigFd, POLLIN, 0}, {input, POLLIN, 0}};
    if (poll(pfds, 2, -1) < 0 && errno != EINTR) return fail("poll failed");
    signalfd_siginfo si;
    while (::read(sigFd, &si, sizeof si) == sizeof si) {
    }
    if (input < 0 || !(pfds[1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char buf[65536];
    ssize_t n = ::read(input, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    bool ended = n <= 0;
    if (n > 0) {
      buffer.append(buf, size_t(n));
      ended = berth::runtime::kube::takeStdinFrames(buffer, [to](std::string_view d) {
        logfmt::writeAll(to, d.data(), d.size());  // a reader that went away: the data is dropped
      });
    }
    if (ended) {
      ::close(to);
      input = -1;  // only the child's exit is awaited now
    }
  }
}

int execCommand(const ExecOptions& o, char** args) {
  if (o.envGiven) {
    clearenv();
    for (const std::string& kv : o.env) putenv(strdup(kv.c_str()));
  }
  if (!o.cwd.empty() && chdir(o.cwd.c_str()) != 0) {
    return report("chdir to cwd (\"" + o.cwd + "\") set in config.json failed: " + strerror(errno), 126);
  }
  if (!o.framedStdin) {
    if (!becomeUser(o.user)) return 126;
    execvp(args[0], args);
    return execFailed(args[0], errno);
  }
  int in[2], status[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(status, O_CLOEXEC) != 0) return fail("pipe failed");
  // Before the fork, so that an early exit is not missed; SIGPIPE: a child that closed its stdin.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGPIPE);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sigFd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  pid_t child = fork();
  if (child < 0) return fail(std::string("fork: ") + strerror(errno));
  if (child == 0) {
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
    dup2(in[0], 0);
    int e = 0;
    if (!becomeUser(o.user)) {
      e = -1;
    } else {
      execvp(args[0], args);
      e = errno;
    }
    (void)!::write(status[1], &e, sizeof e);
    _exit(127);
  }
  ::close(in[0]);
  ::close(status[1]);
  int execErrno = 0;
  if (::read(status[0], &execErrno, sizeof execErrno) == sizeof execErrno) {
    waitpid(child, nullptr, 0);
    return execErrno < 0 ? 126 : execFailed(args[0], execErrno);
  }
  ::close(status[0]);
  return pumpFramedStdin(in[1], child, sigFd);
}

int signalProcess(const char* arg) {
  char* end = nullptr;
  long sig = strtol(arg, &end, 10);
  if (*arg == 0 || *end != 0 || sig <= 0 || sig >= 65) return fail(std::string("not a signal number: ") + arg, 2);
  int fd = ::open(path("child.pid").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("the container's process has not started", 3);
  char buf[32] = {0};
  (void)!::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  long pid = strtol(buf, nullptr, 10);
  if (pid <= 0) return fail("no process id recorded", 3);
  if (exists(path("exited"))) return fail("the container's process has exited", 3);
  if (kill(pid_t(pid), int(sig)) != 0) return fail(std::string("kill: ") + strerror(errno), 3);
  return 0;
}

// Where the last `tail` lines of the log start (tail < 0: all of it; 0: its end).
off_t tailOffset(int fd, long tail) {
  struct stat st {};
  if (tail < 0 || fstat(fd, &st) != 0 || st.st_size == 0) return 0;
  void* p = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return 0;
  const char* data = static_cast<const char*>(p);
  size_t end = 0;
  std::vector<size_t> starts = logfmt::lineStarts(size_t(st.st_size), [data](size_t off) { return data + off; }, &end);
  munmap(p, size_t(st.st_size));
  if (tail == 0) return off_t(end);
  if (size_t(tail) >= starts.size()) return 0;
  return off_t(starts[starts.size() - size_t(tail)]);
}

// Streams the log file's records (from the last `tail` lines; -1: all);
// then a marker record (kMarkerStream) once what was there is out; with `follow`, then
// what comes until the process exited and the file is read to its end,
// and "exited <code>" on stderr.
int logs(bool follow, long tail) {
  std::string p = path(logfmt::kLogFile);
  int fd = -1;
  bool caughtUp = false;
  char buf[65536];
  while (true) {
    if (fd < 0) {
      fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) lseek(fd, tailOffset(fd, tail), SEEK_SET);
    }
    bool done = exists(path("exited"));  // read before draining: what it covers is in the file
    if (fd >= 0) {
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        if (!logfmt::writeAll(1, buf, size_t(n))) return 1;
      }
    }
    if (!caughtUp) {  // in band: a reader sees it after every record before it
      logfmt::RecordHeader marker{logfmt::nowNanos(), 0, logfmt::kMarkerStream, 0, logfmt::kMagic};
      if (!logfmt::writeAll(1, &marker, sizeof marker)) return 1;
      caughtUp = true;
    }
    if (done && follow) {  // for an attach: the exit that ends its stream
      std::string line = "exited " + std::to_string(strtol(readFile(path("exited")).c_str(), nullptr, 10)) + "\n";
      logfmt::writeAll(2, line.data(), line.size());
    }
    if (!follow || done) return 0;
    usleep(50000);
  }
}

int serve() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return 1;
    if (sig == SIGCHLD) {
      while (waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      continue;
    }
    return 0;
  }
}

}  // namespace

// The start's verdict, for the daemon (through exec) before it reports a
// start: Kubernetes says "running" as soon as the helper runs.
int started() {
  for (int i = 0; i < 60 * 200; ++i) {
    if (exists(path("child.pid"))) return 0;
    if (exists(path("exec-error"))) {
      std::string msg = readFile(path("exec-error"));
      (void)!::write(1, msg.data(), msg.size());
      return strtol(readFile(path("exited")).c_str(), nullptr, 10);
    }
    usleep(5000);
  }
  return fail("the process did not start within a minute", 4);
}

int main(int argc, char** argv) {
  if (argc < 2) return fail("usage: berth-kubehelper install|run|exec|release|signal|started|logs|serve ...", 2);
  std::string cmd = argv[1];
  if (cmd == "install" && argc == 3) return install(argv[2]);
  if (cmd == "release" && argc == 2) return writeFileAtomic(path("released"), "") ? 0 : fail("cannot write the release mark");
  if (cmd == "signal" && argc == 3) return signalProcess(argv[2]);
  if (cmd == "serve" && argc == 2) return serve();
  if (cmd == "started" && argc == 2) return started();
  if (cmd == "logs") {
    bool follow = false;
    long tail = -1;
    for (int i = 2; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--follow") {
        follow = true;
      } else if (a == "--tail" && i + 1 < argc) {
        tail = strtol(argv[++i], nullptr, 10);
      } else {
        return fail("logs: unknown option " + a, 2);
      }
    }
    return logs(follow, tail);
  }
  if (cmd == "exec") {
    ExecOptions o;
    int i = 2;
    for (; i < argc && std::string(argv[i]) != "--"; ++i) {
      std::string a = argv[i];
      if (a == "--framed-stdin") {
        o.framedStdin = true;
      } else if ((a == "--cwd" || a == "--user" || a == "--env") && i + 1 < argc) {
        std::string v = argv[++i];
        if (a == "--cwd") o.cwd = v;
        if (a == "--user") o.user = v;
        if (a == "--env") {
          o.env.push_back(v);
          o.envGiven = true;
        }
      } else {
        return fail("exec: unknown option " + a, 2);
      }
    }
    if (i + 1 >= argc) return fail("exec: no command after --", 2);
    return execCommand(o, argv + i + 1);
  }
  if (cmd == "run") {
    bool gate = false, tty = false;
    int i = 2;
    for (; i < argc && std::string(argv[i]) != "--"; ++i) {
      std::string a = argv[i];
      if (a == "--gate") {
        gate = true;
      } else if (a == "--tty") {
        tty = true;
      } else {
        return fail("unknown option " + a, 2);
      }
    }
    if (i + 1 >= argc) return fail("run: no command after --", 2);
    return run(gate, tty, argv + i + 1);
  }
  return fail("unknown command " + cmd, 2);
}
