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
//   release [--when PATH]  let a gated `run` go on (archives have landed; PATH,
//                          the sidecar's Docker socket, exists)
//   signal N               deliver signal N to the process `run` started
//   started                wait until `run` has started the process (exit 0)
//                          or could not (runc's text on stdout, 126 or 127)
//   logs [--follow] [--tail N]
//                          the log's records (from the last N lines);
//                          and a marker record once they are out;
//                          --follow: until the process exited, then
//                          "exited <code>" on stderr
//   archive stat PATH      docker cp's stat of PATH: "<st_mode> <size> <mtime ns>
//                          <name hex> <link target hex>" (exit 2: not there)
//   archive get PATH       a tar of PATH on stdout (its base name at the top;
//                          "dir/." for the directory's contents)
//   archive put DIR [--no-overwrite-dir-non-dir] [--owner UID:GID]
//                          applies copy_ops.h entries from framed stdin below DIR
//                          (exit 2: no DIR; 3: DIR is not a directory; 4: refused)
//   serve [--docker-socket PATH --tunnel-port N]
//                          the sidecar: waits until the pod goes (SIGTERM), so
//                          the log stays readable after the process exited;
//                          with a socket, serves Berth's API there through
//                          the broker of docker_socket.h
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
#include <sys/time.h>
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

#include "runtime/kube/copy_ops.h"
#include "runtime/kube/helper/docker_socket.h"
#include "runtime/kube/stdin_frames.h"
#include "runtime/log_writer.h"
#include "util/tar_tree.h"
#include "util/tar_writer.h"

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

// The broker of a Docker socket (docker_socket.h), in a process of its own,
// started again should it end.
pid_t startBroker(const char* socketPath, int port, const sigset_t& blocked) {
  pid_t pid = fork();
  if (pid == 0) {
    sigprocmask(SIG_UNBLOCK, &blocked, nullptr);
    _exit(berth::kubehelper::dockerSocket(socketPath, port));
  }
  return pid;
}

int serve(const char* socketPath, int port) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  pid_t broker = socketPath != nullptr ? startBroker(socketPath, port, set) : -1;
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return 1;
    if (sig == SIGCHLD) {
      for (pid_t pid; (pid = waitpid(-1, nullptr, WNOHANG)) > 0;) {
        if (pid == broker) {
          usleep(200000);
          broker = startBroker(socketPath, port, set);
        }
      }
      continue;
    }
    if (broker > 0) kill(broker, SIGTERM);
    return 0;
  }
}

// --- docker cp, inside the container: its own root is "/", so a symlink
// resolves where the container's processes would see it.

std::string hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out.empty() ? "-" : out;
}

// The entry PATH names: its parent directory (followed) and its own name
// (not followed), as the daemon's lookup on this machine does.
struct Found {
  int parent = -1;
  std::string name;  // "." for the root
  struct stat st {};
};

bool lookupPath(const std::string& p, Found& f) {
  std::string path = p.empty() || p[0] != '/' ? "/" + p : p;
  bool wantDir = path.size() > 1 && path.back() == '/';
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  std::string base = path.substr(slash + 1);
  f.name = base.empty() ? "." : base;
  f.parent = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (f.parent < 0) return false;
  if (::fstatat(f.parent, f.name.c_str(), &f.st, AT_SYMLINK_NOFOLLOW) != 0) return false;
  return !wantDir || S_ISDIR(f.st.st_mode);
}

int archiveStat(const std::string& path) {
  Found f;
  if (!lookupPath(path, f)) return report("no such file or directory: " + path, 2);
  std::string link;
  if (S_ISLNK(f.st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlinkat(f.parent, f.name.c_str(), buf, sizeof buf);
    if (n > 0) link.assign(buf, size_t(n));
  }
  std::string line = std::to_string(f.st.st_mode) + " " + std::to_string(f.st.st_size) + " " +
                     std::to_string(int64_t(f.st.st_mtim.tv_sec) * 1000000000 + f.st.st_mtim.tv_nsec) + " " +
                     hex(f.name == "." ? "/" : f.name) + " " + hex(link) + "\n";
  return logfmt::writeAll(1, line.data(), line.size()) ? 0 : 1;
}

int archiveGet(const std::string& path) {
  Found f;
  if (!lookupPath(path, f)) return report("no such file or directory: " + path, 2);
  // "dir/." archives the directory's contents under ".": the CLI's way of
  // asking for them without the directory's own name.
  bool contents = path.size() >= 2 && path.compare(path.size() - 2, 2, "/.") == 0;
  std::string tarName = contents || f.name == "." ? "." : f.name;
  if (!berth::writeTarTree(1, f.parent, f.name, tarName)) return fail(std::string("write: ") + strerror(errno));
  std::string end = berth::tarEnd();
  return logfmt::writeAll(1, end.data(), end.size()) ? 0 : 1;
}

// Removes `name` below `dirFd`, a whole tree if it is a directory.
void removeTree(int dirFd, const std::string& name) {
  if (::unlinkat(dirFd, name.c_str(), 0) == 0 || (errno != EISDIR && errno != EPERM)) return;
  int sub = ::openat(dirFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub >= 0) {
    for (const std::string& n : berth::sortedEntries(sub)) removeTree(sub, n);
    ::close(sub);
  }
  ::unlinkat(dirFd, name.c_str(), AT_REMOVEDIR);
}

// Applies entries as they arrive (a file's data may come in many pieces).
class CopyIn {
 public:
  CopyIn(int dir, bool noOverwriteDirNonDir, long ownerUid, long ownerGid)
      : dir_(dir), noOverwrite_(noOverwriteDirNonDir), ownerUid_(ownerUid), ownerGid_(ownerGid) {}

  // False with error_ set when an entry is refused or cannot be made.
  bool feed(std::string& buffer) {
    while (true) {
      if (file_ >= 0) {  // a file's data
        size_t n = size_t(std::min<uint64_t>(left_, buffer.size()));
        if (n > 0 && !logfmt::writeAll(file_, buffer.data(), n)) return failed("write " + entry_.name);
        buffer.erase(0, n);
        left_ -= n;
        if (left_ > 0) return true;
        finishFile();
        continue;
      }
      if (buffer.size() < berth::runtime::kube::copyops::kHeaderSize) return true;
      uint32_t nameLen = 0, linkLen = 0;
      if (!berth::runtime::kube::copyops::decodeHeader(buffer, entry_, nameLen, linkLen)) {
        error_ = "a malformed copy entry";
        return false;
      }
      size_t whole = berth::runtime::kube::copyops::kHeaderSize + nameLen + linkLen;
      if (buffer.size() < whole) return true;
      entry_.name = buffer.substr(berth::runtime::kube::copyops::kHeaderSize, nameLen);
      entry_.link = buffer.substr(berth::runtime::kube::copyops::kHeaderSize + nameLen, linkLen);
      buffer.erase(0, whole);
      if (!apply()) return false;
    }
  }
  // Directory times last: what was created in them changed them.
  bool finish() {
    if (file_ >= 0) return failed("the copy ended inside " + entry_.name);
    for (auto it = dirTimes_.rbegin(); it != dirTimes_.rend(); ++it) {
      timespec ts[2] = {{it->second, 0}, {it->second, 0}};
      utimensat(dir_, it->first.c_str(), ts, AT_SYMLINK_NOFOLLOW);
    }
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  bool failed(const std::string& what) {
    error_ = what + ": " + strerror(errno);
    return false;
  }
  void own(const char* name) {
    uid_t u = ownerUid_ >= 0 ? uid_t(ownerUid_) : uid_t(entry_.uid);
    gid_t g = ownerGid_ >= 0 ? gid_t(ownerGid_) : gid_t(entry_.gid);
    (void)fchownat(dir_, name, u, g, AT_SYMLINK_NOFOLLOW);  // not root: the files stay ours
  }
  bool apply() {
    namespace ops = berth::runtime::kube::copyops;
    if (!ops::safeName(entry_.name) || (entry_.type == ops::kHardlink && !ops::safeName(entry_.link))) {
      error_ = "a copy entry outside its directory: " + entry_.name;
      return false;
    }
    std::string name = entry_.name;
    while (name.size() > 1 && name.back() == '/') name.pop_back();
    const char* n = name.c_str();
    struct stat old {};
    bool exists = ::fstatat(dir_, n, &old, AT_SYMLINK_NOFOLLOW) == 0;
    bool wantDir = entry_.type == ops::kDir;
    if (exists && S_ISDIR(old.st_mode) != wantDir) {
      if (noOverwrite_) {
        error_ = wantDir ? "cannot overwrite non-directory \"" + name + "\" with directory"
                         : "cannot overwrite directory \"" + name + "\" with non-directory";
        return false;
      }
      removeTree(dir_, name);
      exists = false;
    } else if (exists && !wantDir) {
      ::unlinkat(dir_, n, 0);
    }
    timespec ts[2] = {{entry_.mtime, 0}, {entry_.mtime, 0}};
    switch (entry_.type) {
      case ops::kDir:
        if (!exists && ::mkdirat(dir_, n, 0700) != 0) return failed("mkdir " + name);
        own(n);
        ::fchmodat(dir_, n, entry_.mode, 0);
        dirTimes_.emplace_back(name, entry_.mtime);
        return true;
      case ops::kSymlink:
        if (::symlinkat(entry_.link.c_str(), dir_, n) != 0) return failed("symlink " + name);
        own(n);
        utimensat(dir_, n, ts, AT_SYMLINK_NOFOLLOW);
        return true;
      case ops::kHardlink:
        if (::linkat(dir_, entry_.link.c_str(), dir_, n, 0) != 0) return failed("link " + name);
        return true;
      default:
        file_ = ::openat(dir_, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (file_ < 0) return failed("create " + name);
        name_ = name;
        left_ = entry_.size;
        if (left_ == 0) finishFile();
        return true;
    }
  }
  void finishFile() {
    own(name_.c_str());
    fchmod(file_, entry_.mode);  // after the owner: chown clears setuid bits
    timespec ts[2] = {{entry_.mtime, 0}, {entry_.mtime, 0}};
    futimens(file_, ts);
    ::close(file_);
    file_ = -1;
  }

  int dir_;
  bool noOverwrite_;
  long ownerUid_, ownerGid_;
  berth::runtime::kube::copyops::Entry entry_;
  int file_ = -1;
  std::string name_;
  uint64_t left_ = 0;
  std::vector<std::pair<std::string, int64_t>> dirTimes_;
  std::string error_;
};

int archivePut(const std::string& dir, bool noOverwrite, const std::string& owner) {
  int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd < 0) {
    if (errno == ENOTDIR) return report("extraction point is not a directory", 3);
    return report("no such directory: " + dir, 2);
  }
  long uid = -1, gid = -1;
  if (!owner.empty()) {
    size_t colon = owner.find(':');
    uid = strtol(owner.c_str(), nullptr, 10);
    gid = colon == std::string::npos ? uid : strtol(owner.c_str() + colon + 1, nullptr, 10);
  }
  CopyIn copy(dirFd, noOverwrite, uid, gid);
  std::string frames, data;
  char buf[65536];
  bool ended = false;
  while (!ended) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return report("the copy ended early", 4);
    frames.append(buf, size_t(n));
    ended = berth::runtime::kube::takeStdinFrames(frames, [&data](std::string_view d) { data.append(d); });
    if (!copy.feed(data)) return report(copy.error(), 4);
  }
  if (!data.empty() || !copy.finish()) return report(copy.error().empty() ? "the copy ended inside an entry" : copy.error(), 4);
  return 0;
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
  if (cmd == "release" && (argc == 2 || (argc == 4 && std::string(argv[2]) == "--when"))) {
    // --when PATH: not before PATH exists (the sidecar's Docker socket), for up to 30 s.
    for (int i = 0; argc == 4 && !exists(argv[3]); ++i) {
      if (i == 1500) return fail(std::string("release: ") + argv[3] + " did not appear", 4);
      usleep(20000);
    }
    return writeFileAtomic(path("released"), "") ? 0 : fail("cannot write the release mark");
  }
  if (cmd == "signal" && argc == 3) return signalProcess(argv[2]);
  if (cmd == "serve" && argc == 2) return serve(nullptr, 0);
  if (cmd == "serve" && argc == 6 && std::string(argv[2]) == "--docker-socket" && std::string(argv[4]) == "--tunnel-port") {
    return serve(argv[3], atoi(argv[5]));
  }
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
  if (cmd == "archive" && argc >= 4) {
    std::string op = argv[2];
    if (op == "stat" && argc == 4) return archiveStat(argv[3]);
    if (op == "get" && argc == 4) return archiveGet(argv[3]);
    if (op == "put") {
      bool noOverwrite = false;
      std::string owner;
      for (int i = 4; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--no-overwrite-dir-non-dir") {
          noOverwrite = true;
        } else if (a == "--owner" && i + 1 < argc) {
          owner = argv[++i];
        } else {
          return fail("archive put: unknown option " + a, 2);
        }
      }
      return archivePut(argv[3], noOverwrite, owner);
    }
    return fail("archive: stat|get|put PATH", 2);
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
