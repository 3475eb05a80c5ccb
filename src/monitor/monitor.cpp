// berth-monitor: one per running container (conmon's role). Lean on
// purpose — libc only, statically linked, single-threaded, one poll loop —
// because one of these lives beside every container.
//
//   berth-monitor <container dir> <berth binary> [--status-fd N] [--client-fd N]…
//                 [--tty] [--stdin] [--stdin-once] [--exec] [--log-max-size B] [--log-max-files N]
//
// It detaches from the daemon (so the container outlives a daemon restart or
// kill -9), owns the container's stdio or pty, starts the setup helper
// (`berth __container-setup <dir>`, which builds the namespaces and execs
// the container's process), writes every output line to the log, serves
// attach clients on <dir>/monitor.sock (frames of runtime/monitor_protocol.h),
// and when the container's init exits writes exit.json and tells its clients.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/log_record.h"
#include "runtime/log_writer.h"
#include "runtime/monitor_protocol.h"

namespace {

namespace proto = berth::runtime::monitor;
namespace logfmt = berth::runtime::logfmt;
using logfmt::LogWriter;
using logfmt::nowNanos;
using logfmt::writeAll;

struct Options {
  const char* dir = nullptr;
  const char* berth = nullptr;
  int statusFd = -1;
  std::vector<int> clientFds;
  bool tty = false;
  bool stdinOpen = false;
  bool stdinOnce = false;
  bool exec = false;    // a process in a running container: __container-exec, no log
  long long logMaxSize = 0;  // 0: no rotation
  int logMaxFiles = 1;
};

std::string rfc3339Nano(uint64_t nanos) {
  time_t secs = time_t(nanos / 1000000000ull);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  snprintf(buf + n, sizeof buf - n, ".%09lluZ", static_cast<unsigned long long>(nanos % 1000000000ull));
  return buf;
}

struct Client {
  int fd = -1;
  bool wantsStdin = false, wantsStdout = false, wantsStderr = false;
  std::string in;  // bytes of an incomplete frame
};

// One output stream of the container (stdout, stderr, or the pty master).
struct Output {
  int fd = -1;
  logfmt::LineSplitter lines;
  uint8_t stream() const { return lines.stream(); }
};

class Monitor {
 public:
  explicit Monitor(const Options& o) : o_(o), log_(o.logMaxSize, o.logMaxFiles) {}

  int run();

 private:
  bool setUpStdio(std::string& err);
  bool startContainer(std::string& report);
  void loop();
  void onOutput(Output& out);
  void broadcast(uint8_t stream, const char* data, size_t n);
  void acceptClient();
  bool readHello(Client& c);
  bool onClientReadable(Client& c);
  bool handleFrame(Client& c, uint8_t type, const std::string& payload);
  void closeStdin();
  void dropClient(size_t i);
  void finish();

  const Options& o_;
  LogWriter log_;
  int listenFd_ = -1;
  int sigFd_ = -1;
  int stdinFd_ = -1;       // our end of the container's stdin (pipe or pty master)
  int ptyMaster_ = -1;
  int childStdio_[3] = {-1, -1, -1};
  Output outputs_[2];
  int outputCount_ = 0;
  std::vector<Client> clients_;
  pid_t containerPid_ = 0;
  bool exited_ = false;
  int exitCode_ = 0;
  uint64_t exitTime_ = 0;
};

bool Monitor::setUpStdio(std::string& err) {
  if (o_.tty) {
    ptyMaster_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (ptyMaster_ < 0 || grantpt(ptyMaster_) != 0 || unlockpt(ptyMaster_) != 0) {
      err = std::string("allocating a pty: ") + strerror(errno);
      return false;
    }
    char name[128];
    if (ptsname_r(ptyMaster_, name, sizeof name) != 0) {
      err = "ptsname failed";
      return false;
    }
    int slave = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) {
      err = std::string("opening the pty: ") + strerror(errno);
      return false;
    }
    childStdio_[0] = slave;
    childStdio_[1] = dup(slave);
    childStdio_[2] = dup(slave);
    stdinFd_ = o_.stdinOpen ? ptyMaster_ : -1;
    outputs_[0] = {ptyMaster_, logfmt::LineSplitter(logfmt::kStdout)};
    outputCount_ = 1;
    return true;
  }
  int in[2], out[2], errp[2];
  if (o_.stdinOpen) {
    if (pipe2(in, O_CLOEXEC) != 0) return err = "pipe failed", false;
    childStdio_[0] = in[0];
    stdinFd_ = in[1];
  } else {
    childStdio_[0] = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) return err = "pipe failed", false;
  childStdio_[1] = out[1];
  childStdio_[2] = errp[1];
  outputs_[0] = {out[0], logfmt::LineSplitter(logfmt::kStdout)};
  outputs_[1] = {errp[0], logfmt::LineSplitter(logfmt::kStderr)};
  outputCount_ = 2;
  // Larger pipes: fewer wake-ups when the container writes a lot.
  fcntl(out[0], F_SETPIPE_SZ, 1 << 20);
  fcntl(errp[0], F_SETPIPE_SZ, 1 << 20);
  return true;
}

// Runs the setup helper and collects its report: "warn …" lines, then
// "pid N" on success or "error …". Returns whether the container runs.
bool Monitor::startContainer(std::string& report) {
  int rp[2];
  if (pipe2(rp, O_CLOEXEC) != 0) {
    report = "error creating the report pipe\n";
    return false;
  }
  pid_t helper = fork();
  if (helper < 0) {
    report = std::string("error fork: ") + strerror(errno) + "\n";
    return false;
  }
  if (helper == 0) {
    for (int i = 0; i < 3; ++i) dup2(childStdio_[i], i);  // dup2 clears FD_CLOEXEC
    dup2(rp[1], 3);
    close_range(4, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execl(o_.berth, "berth", o_.exec ? "__container-exec" : "__container-setup", o_.dir, static_cast<char*>(nullptr));
    dprintf(3, "error exec %s: %s\n", o_.berth, strerror(errno));
    _exit(127);
  }
  close(rp[1]);
  char buf[4096];
  for (;;) {
    ssize_t n = read(rp[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    report.append(buf, size_t(n));
  }
  close(rp[0]);
  int st = 0;
  while (waitpid(helper, &st, 0) < 0 && errno == EINTR) {
  }
  for (int& fd : childStdio_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  size_t at = report.find("pid ");
  while (at != std::string::npos && at != 0 && report[at - 1] != '\n') at = report.find("pid ", at + 1);
  if (at == std::string::npos) {
    if (report.empty()) report = "error the setup helper exited without a report\n";
    return false;
  }
  containerPid_ = pid_t(atoi(report.c_str() + at + 4));
  return containerPid_ > 0;
}

void Monitor::broadcast(uint8_t stream, const char* data, size_t n) {
  unsigned char h[proto::kHeaderSize];
  proto::encodeHeader(stream, uint32_t(n), h);
  for (size_t i = 0; i < clients_.size();) {
    Client& c = clients_[i];
    bool wants = stream == logfmt::kStdout ? c.wantsStdout : c.wantsStderr;
    if (wants && (!writeAll(c.fd, h, sizeof h) || !writeAll(c.fd, data, n))) {
      dropClient(i);
      continue;
    }
    ++i;
  }
}

void Monitor::onOutput(Output& out) {
  static char buf[64 * 1024];
  ssize_t n = read(out.fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  uint64_t t = nowNanos();
  if (n <= 0) {  // EOF (or EIO from a pty whose last slave closed)
    out.lines.flush(log_, t);
    log_.flush();
    close(out.fd);
    if (out.fd == stdinFd_) stdinFd_ = -1;
    if (out.fd == ptyMaster_) ptyMaster_ = -1;
    out.fd = -1;
    return;
  }
  broadcast(out.stream(), buf, size_t(n));
  out.lines.feed(log_, buf, size_t(n), t);
  log_.flush();
}

void Monitor::acceptClient() {
  int fd = accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  Client c;
  c.fd = fd;
  timeval tv{10, 0};  // a stuck client is dropped rather than stalling the container
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  clients_.push_back(c);
}

void Monitor::closeStdin() {
  if (stdinFd_ < 0) return;
  if (o_.tty) {
    // The pty stays (it carries the output); end-of-file is ^D for the reader.
    char eot = 4;
    (void)!write(stdinFd_, &eot, 1);
  } else {
    close(stdinFd_);
  }
  stdinFd_ = -1;
}

void Monitor::dropClient(size_t i) {
  Client& c = clients_[i];
  if (c.wantsStdin && o_.stdinOnce) closeStdin();
  close(c.fd);
  clients_.erase(clients_.begin() + long(i));
}

bool Monitor::handleFrame(Client& c, uint8_t type, const std::string& payload) {
  switch (type) {
    case proto::kHello:
      c.wantsStdin = payload.find('i') != std::string::npos;
      c.wantsStdout = payload.find('o') != std::string::npos;
      c.wantsStderr = payload.find('e') != std::string::npos;
      return true;
    case proto::kStdin:
      if (c.wantsStdin && stdinFd_ >= 0 && !writeAll(stdinFd_, payload.data(), payload.size())) closeStdin();
      return true;
    case proto::kCloseStdin:
      if (c.wantsStdin) closeStdin();
      return true;
    case proto::kResize: {
      unsigned rows = 0, cols = 0;
      if (ptyMaster_ >= 0 && sscanf(payload.c_str(), "%u %u", &rows, &cols) == 2) {
        winsize ws{};
        ws.ws_row = static_cast<unsigned short>(rows);
        ws.ws_col = static_cast<unsigned short>(cols);
        ioctl(ptyMaster_, TIOCSWINSZ, &ws);
      }
      return true;
    }
    case proto::kSignal: {
      int sig = atoi(payload.c_str());
      // Only before we reaped it: the pid cannot have been reused yet.
      if (!exited_ && sig > 0 && sig < 65) kill(containerPid_, sig);
      return true;
    }
    default:
      return false;
  }
}

// Reads what arrived and handles whole frames; false drops the client.
bool Monitor::onClientReadable(Client& c) {
  char buf[32 * 1024];
  ssize_t n = read(c.fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  c.in.append(buf, size_t(n));
  size_t off = 0;
  while (c.in.size() - off >= proto::kHeaderSize) {
    const auto* h = reinterpret_cast<const unsigned char*>(c.in.data() + off);
    uint32_t len = proto::decodeLength(h);
    if (len > proto::kMaxFrame) return false;
    if (c.in.size() - off < proto::kHeaderSize + len) break;
    std::string payload = c.in.substr(off + proto::kHeaderSize, len);
    if (!handleFrame(c, h[0], payload)) return false;
    off += proto::kHeaderSize + len;
  }
  c.in.erase(0, off);
  return true;
}

// A client handed over at start sends its hello first; read it before the
// container runs so it sees every byte of output.
bool Monitor::readHello(Client& c) {
  unsigned char h[proto::kHeaderSize];
  if (!proto::readExact(c.fd, h, sizeof h) || h[0] != proto::kHello) return false;
  uint32_t len = proto::decodeLength(h);
  if (len > 16) return false;
  std::string payload(len, '\0');
  if (!proto::readExact(c.fd, payload.data(), len)) return false;
  return handleFrame(c, h[0], payload);
}

void Monitor::loop() {
  uint64_t drainDeadline = 0;
  for (;;) {
    bool outputsOpen = false;
    for (int i = 0; i < outputCount_; ++i) outputsOpen = outputsOpen || outputs_[i].fd >= 0;
    if (exited_ && (!outputsOpen || nowNanos() > drainDeadline)) return;
    std::vector<pollfd> fds;
    fds.push_back({sigFd_, POLLIN, 0});
    fds.push_back({listenFd_, POLLIN, 0});
    for (int i = 0; i < outputCount_; ++i) fds.push_back({outputs_[i].fd, POLLIN, 0});
    size_t firstClient = fds.size();
    for (const Client& c : clients_) fds.push_back({c.fd, POLLIN, 0});
    int timeout = exited_ ? 100 : -1;
    int r = poll(fds.data(), fds.size(), timeout);
    if (r < 0 && errno != EINTR) return;
    if (r <= 0) continue;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      while (read(sigFd_, &si, sizeof si) == sizeof si) {
      }
      int st = 0;
      pid_t p;
      while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        if (p != containerPid_) continue;  // an orphan reparented to us
        exited_ = true;
        exitTime_ = nowNanos();
        exitCode_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        drainDeadline = exitTime_ + 2000000000ull;
      }
    }
    if (fds[1].revents & POLLIN) acceptClient();
    for (int i = 0; i < outputCount_; ++i) {
      if (outputs_[i].fd >= 0 && (fds[2 + size_t(i)].revents & (POLLIN | POLLHUP | POLLERR))) onOutput(outputs_[i]);
    }
    // Clients by fd: the vector may have shrunk while broadcasting.
    for (size_t k = firstClient; k < fds.size(); ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      for (size_t i = 0; i < clients_.size(); ++i) {
        if (clients_[i].fd != fds[k].fd) continue;
        if (!onClientReadable(clients_[i])) dropClient(i);
        break;
      }
    }
  }
}

void Monitor::finish() {
  uint64_t t = nowNanos();
  for (int i = 0; i < outputCount_; ++i) {
    outputs_[i].lines.flush(log_, t);
    if (outputs_[i].fd >= 0) close(outputs_[i].fd);
  }
  log_.flush();
  std::string doc = "{\"ExitCode\":" + std::to_string(exitCode_) + ",\"FinishedAt\":\"" + rfc3339Nano(exitTime_) + "\"}\n";
  int fd = ::open("exit.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    writeAll(fd, doc.data(), doc.size());
    fsync(fd);
    close(fd);
    rename("exit.json.tmp", proto::kExitFile);
  }
  unlink(proto::kSocketName);
  unlink(proto::kPidFile);
  std::string f = proto::frame(proto::kExit, std::to_string(exitCode_));
  for (Client& c : clients_) {
    writeAll(c.fd, f.data(), f.size());
    close(c.fd);
  }
  clients_.clear();
}

int Monitor::run() {
  // Nothing the daemon had open stays open here but what it handed us.
  int maxFd = o_.statusFd;
  for (int fd : o_.clientFds) maxFd = fd > maxFd ? fd : maxFd;
  close_range(unsigned(maxFd < 2 ? 3 : maxFd + 1), ~0U, 0);
  // Detach: the daemon reaps the parent at once; the monitor is reparented
  // and survives the daemon.
  pid_t p = fork();
  if (p < 0) return 1;
  if (p > 0) _exit(0);
  setsid();
  auto fail = [this](const std::string& msg) {
    std::string line = "error " + msg + "\n";
    if (o_.statusFd >= 0) writeAll(o_.statusFd, line.data(), line.size());
    unlink(proto::kSocketName);
    return 1;
  };
  if (chdir(o_.dir) != 0) return fail(std::string("chdir: ") + strerror(errno));
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  sigFd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (!o_.exec && !log_.open()) return fail(std::string("opening the log: ") + strerror(errno));
  std::string err;
  if (!setUpStdio(err)) return fail(err);

  listenFd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, proto::kSocketName, sizeof addr.sun_path - 1);
  unlink(proto::kSocketName);
  if (listenFd_ < 0 || bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listenFd_, 64) != 0) {
    return fail(std::string("monitor socket: ") + strerror(errno));
  }
  for (int fd : o_.clientFds) {
    Client c;
    c.fd = fd;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (readHello(c)) {
      clients_.push_back(c);
    } else {
      close(fd);
    }
  }
  std::string report;
  if (!startContainer(report)) {
    if (o_.statusFd >= 0) writeAll(o_.statusFd, report.data(), report.size());
    unlink(proto::kSocketName);
    return 1;
  }
  std::string pids = std::to_string(getpid()) + " " + std::to_string(containerPid_) + "\n";
  int pf = ::open(proto::kPidFile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (pf >= 0) {
    writeAll(pf, pids.data(), pids.size());
    close(pf);
  }
  if (o_.statusFd >= 0) {
    writeAll(o_.statusFd, report.data(), report.size());
    close(o_.statusFd);
  }
  loop();
  finish();
  return 0;
}

bool parseArgs(int argc, char** argv, Options& o) {
  if (argc < 3) return false;
  o.dir = argv[1];
  o.berth = argv[2];
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--tty") {
      o.tty = true;
    } else if (a == "--stdin") {
      o.stdinOpen = true;
    } else if (a == "--stdin-once") {
      o.stdinOnce = true;
    } else if (a == "--exec") {
      o.exec = true;
    } else if (const char* v = (a == "--status-fd" || a == "--client-fd" || a == "--log-max-size" ||
                                a == "--log-max-files")
                                   ? next()
                                   : nullptr) {
      if (a == "--status-fd") o.statusFd = atoi(v);
      if (a == "--client-fd") o.clientFds.push_back(atoi(v));
      if (a == "--log-max-size") o.logMaxSize = atoll(v);
      if (a == "--log-max-files") o.logMaxFiles = atoi(v);
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parseArgs(argc, argv, o)) {
    fputs("usage: berth-monitor <container dir> <berth binary> [options] (started by berth, not by hand)\n", stderr);
    return 2;
  }
  Monitor m(o);
  return m.run();
}
