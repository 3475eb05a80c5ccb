#include "runtime/local/local_runtime.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>


#include "nlohmann/json.hpp"
#include "runtime/local/log_reader.h"
#include "runtime/monitor_protocol.h"
#include "util/rooted_fs.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/timestamp.h"

extern char** environ;

namespace berth::runtime::local {
namespace {

// CPU time and resident memory summed over `procs` from /proc, as far as
// they are still there; the limit is the machine's memory, as dockerd shows
// a container without one.
ResourceStats processStats(const std::vector<pid_t>& procs) {
  ResourceStats s;
  const uint64_t nanosPerTick = 1000000000ull / uint64_t(::sysconf(_SC_CLK_TCK));
  for (pid_t p : procs) {
    std::string stat = readFileOrEmpty(strCat("/proc/", p, "/stat"));
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    // After "pid (comm)": state is field 3, utime 14 and stime 15.
    std::vector<std::string_view> f = split(std::string_view(stat).substr(close + 2), ' ', true);
    if (f.size() < 13) continue;
    uint64_t user = std::strtoull(std::string(f[11]).c_str(), nullptr, 10) * nanosPerTick;
    uint64_t system = std::strtoull(std::string(f[12]).c_str(), nullptr, 10) * nanosPerTick;
    s.cpuUserNanos += user;
    s.cpuSystemNanos += system;
    s.cpuUsageNanos += user + system;
    std::string status = readFileOrEmpty(strCat("/proc/", p, "/status"));  // outlives the views into it
    for (std::string_view line : split(status, '\n', true)) {
      if (line.starts_with("VmRSS:")) s.memoryUsage += std::strtoull(std::string(line.substr(6)).c_str(), nullptr, 10) * 1024;
    }
    ++s.pids;
  }
  s.memoryLimit = uint64_t(::sysconf(_SC_PHYS_PAGES)) * uint64_t(::sysconf(_SC_PAGESIZE));
  return s;
}

namespace proto = monitor;

absl::Status writeFile(const std::string& path, std::string_view data, mode_t mode = 0644) {
  std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return absl::InternalError(strCat("writing ", path, ": ", strerror(errno)));
  BERTH_RETURN_IF_ERROR(writeAll(fd.get(), data));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return absl::InternalError(strCat("renaming ", path, ": ", strerror(errno)));
  return absl::OkStatus();
}

absl::Status makeDir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return absl::InternalError(strCat("creating ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

// Sends one frame; false if the peer is gone.
bool sendFrame(int fd, uint8_t type, std::string_view payload) {
  std::string f = proto::frame(type, payload);
  return writeAll(fd, f).ok();
}

}  // namespace

LocalRuntime::LocalRuntime(LocalRuntimeOptions options)
    : options_(std::move(options)), cgroups_(options_.rootless ? CgroupLayout{} : detectCgroups()) {
  ::mkdir(options_.containersDir.c_str(), 0710);
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_.get();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  thread_ = std::thread([this] { watcherLoop(); });
}

LocalRuntime::~LocalRuntime() {
  stopping_ = true;
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> LocalRuntime::cgroupsOf(const std::string& id) const {
  return containerCgroups(cgroups_, id);
}

absl::StatusOr<Started> LocalRuntime::start(const ContainerSpec& specIn, StartOptions options) {
  ContainerSpec spec = specIn;
  std::string dir = containerDir(spec.id);
  BERTH_RETURN_IF_ERROR(makeDir(dir, 0711));
  for (const char* sub : {"upper", "work", "rootfs", "lower"}) BERTH_RETURN_IF_ERROR(makeDir(dir + "/" + sub, 0755));
  spec.upperDir = dir + "/upper";
  spec.workDir = dir + "/work";
  spec.rootfs = dir + "/rootfs";
  if (spec.lowerDirs.empty()) spec.lowerDirs.push_back(dir + "/lower");  // an image without layers
  spec.cgroupPaths = cgroupsOf(spec.id);
  std::vector<std::string> warnings = limitWarnings(spec.resources);
  // The files the container sees at /etc/hostname, /etc/hosts, /etc/resolv.conf.
  std::string fqdn = spec.domainname.empty() ? spec.hostname : spec.hostname + "." + spec.domainname;
  BERTH_RETURN_IF_ERROR(writeFile(dir + "/hostname", spec.hostname + "\n"));
  std::string hosts =
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n"
      "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";
  for (const std::string& line : spec.extraHosts) hosts += line + "\n";
  if (spec.netMode != "host") {
    hosts += strCat(spec.ipAddress.empty() ? "127.0.1.1" : spec.ipAddress, "\t", fqdn,
                    fqdn == spec.hostname ? "" : " " + spec.hostname, "\n");
  }
  std::string hostHosts = readFileOrEmpty("/etc/hosts");
  for (const std::string& line : spec.extraHosts) hostHosts += line + "\n";
  BERTH_RETURN_IF_ERROR(writeFile(dir + "/hosts", spec.netMode == "host" ? hostHosts : hosts));
  BERTH_RETURN_IF_ERROR(writeFile(dir + "/resolv.conf", spec.resolvConf));
  spec.hostnameFile = dir + "/hostname";
  spec.hostsFile = dir + "/hosts";
  spec.resolvConfFile = dir + "/resolv.conf";
  BERTH_RETURN_IF_ERROR(writeFile(dir + "/" + proto::kSpecFile, toJson(spec), 0600));
  ::unlink((dir + "/" + proto::kExitFile).c_str());

  return spawnMonitor(spec.id, dir, spec.terminal, std::move(options), false, std::move(warnings));
}

absl::StatusOr<Started> LocalRuntime::exec(const std::string& containerId, const std::string& execId,
                                           const ContainerSpec& processIn, StartOptions options) {
  std::string key = execKey(containerId, execId);
  std::string dir = containerDir(key);
  BERTH_RETURN_IF_ERROR(makeDir(containerDir(containerId) + "/exec", 0711));
  BERTH_RETURN_IF_ERROR(makeDir(dir, 0711));
  ContainerSpec process = processIn;
  process.id = containerId;
  process.cgroupPaths = cgroupsOf(containerId);
  BERTH_RETURN_IF_ERROR(writeFile(dir + "/" + proto::kSpecFile, toJson(process), 0600));
  return spawnMonitor(key, dir, process.terminal, std::move(options), true, {});
}

absl::StatusOr<Started> LocalRuntime::spawnMonitor(const std::string& id, const std::string& dir, bool tty,
                                                   StartOptions options, bool exec, std::vector<std::string> warnings) {
  // Our connection for exits, handed over like the attach connections so
  // that no exit can happen before we listen.
  int control[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, control) != 0) {
    return absl::InternalError(strCat("socketpair: ", strerror(errno)));
  }
  UniqueFd controlOurs(control[0]);
  options.attachments.emplace_back(control[1]);
  BERTH_RETURN_IF_ERROR(writeAll(controlOurs.get(), proto::frame(proto::kHello, "")));
  int status[2];
  if (::pipe2(status, O_CLOEXEC) != 0) return absl::InternalError(strCat("pipe: ", strerror(errno)));
  UniqueFd statusRead(status[0]), statusWrite(status[1]);

  std::vector<std::string> args = {options_.monitorBinary, dir, options_.berthBinary, "--status-fd", "3"};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (int fd = 0; fd < 3; ++fd) posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", O_RDWR, 0);
  posix_spawn_file_actions_adddup2(&fa, statusWrite.get(), 3);
  int next = 4;
  for (const UniqueFd& a : options.attachments) {
    posix_spawn_file_actions_adddup2(&fa, a.get(), next);
    args.push_back("--client-fd");
    args.push_back(strCat(next++));
  }
  if (tty) args.push_back("--tty");
  if (exec) args.push_back("--exec");
  if (options.openStdin) args.push_back("--stdin");
  if (options.stdinOnce) args.push_back("--stdin-once");
  if (options.logMaxSize > 0) {
    args.push_back("--log-max-size");
    args.push_back(strCat(options.logMaxSize));
    args.push_back("--log-max-files");
    args.push_back(strCat(options.logMaxFiles));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, options_.monitorBinary.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return absl::InternalError(strCat("starting ", options_.monitorBinary, ": ", strerror(rc)));
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  statusWrite.reset();
  options.attachments.clear();  // the monitor holds them now

  std::string reportText;
  char buf[4096];
  for (ssize_t n; (n = ::read(statusRead.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    reportText.append(buf, size_t(n));
  }
  Started started;
  started.warnings = std::move(warnings);
  std::string error;
  for (std::string_view line : split(reportText, '\n')) {
    if (line.starts_with("warn ")) started.warnings.emplace_back(line.substr(5));
    if (line.starts_with("pid ")) started.pid = pid_t(std::atoi(std::string(line.substr(4)).c_str()));
    if (line.starts_with("error ")) error = std::string(line.substr(6));
  }
  if (started.pid <= 0) {
    cleanup(id);
    if (error.empty()) error = "the container's monitor exited without a report";
    std::string msg = strCat("failed to create task for container: unable to start container process: ", error);
    if (error.find("executable file not found") != std::string::npos ||
        error.find("no such file or directory") != std::string::npos ||
        error.find("permission denied") != std::string::npos || error.find("unable to find user") != std::string::npos ||
        error.find("working directory") != std::string::npos) {
      return absl::InvalidArgumentError(msg);
    }
    return absl::InternalError(msg);
  }
  std::lock_guard lock(mu_);
  controlFds_[id] = std::move(controlOurs);
  return started;
}

absl::StatusOr<UniqueFd> LocalRuntime::connectMonitor(const std::string& id) {
  // The socket's path can be longer than sun_path allows: reach it through
  // a directory fd.
  UniqueFd dir(::open(containerDir(id).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return absl::FailedPreconditionError(strCat("container ", id, " is not running"));
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = strCat("/proc/self/fd/", dir.get(), "/", proto::kSocketName);
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return absl::FailedPreconditionError(strCat("container ", id, " is not running"));
  }
  return s;
}

absl::StatusOr<UniqueFd> LocalRuntime::attach(const std::string& id, std::string_view streams) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd s, connectMonitor(id));
  if (!sendFrame(s.get(), proto::kHello, streams)) return absl::FailedPreconditionError("the container's monitor went away");
  return s;
}

absl::Status LocalRuntime::kill(const std::string& id, int signal) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd s, attach(id, ""));
  if (!sendFrame(s.get(), proto::kSignal, strCat(signal))) return absl::FailedPreconditionError("the container's monitor went away");
  return absl::OkStatus();
}

absl::Status LocalRuntime::resize(const std::string& id, unsigned rows, unsigned cols) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd s, attach(id, ""));
  sendFrame(s.get(), proto::kResize, strCat(rows, " ", cols));
  return absl::OkStatus();
}

absl::Status LocalRuntime::pause(const std::string& id, bool paused) {
  std::vector<std::string> cg = cgroupsOf(id);
  if (cg.empty()) return absl::FailedPreconditionError("pausing containers needs cgroups, which a rootless daemon here cannot use");
  return freezeCgroups(cg, paused);
}

absl::StatusOr<std::vector<pid_t>> LocalRuntime::pids(const std::string& id) {
  std::vector<std::string> cg = cgroupsOf(id);
  if (!cg.empty()) return cgroupPids(cg);
  // Without cgroups: the processes in the container's pid namespace.
  pid_t init = proto::initPidFrom(readFileOrEmpty(containerDir(id) + "/" + proto::kPidFile));
  if (init <= 0) return absl::FailedPreconditionError(strCat("container ", id, " is not running"));
  char want[128] = {0};
  if (::readlink(strCat("/proc/", init, "/ns/pid").c_str(), want, sizeof want - 1) <= 0) return std::vector<pid_t>{};
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    pid_t p = pid_t(std::atoi(e->d_name));
    if (p <= 0) continue;
    char ns[128] = {0};
    if (::readlink(strCat("/proc/", p, "/ns/pid").c_str(), ns, sizeof ns - 1) > 0 && std::strcmp(ns, want) == 0) out.push_back(p);
  }
  ::closedir(d);
  return out;
}

absl::StatusOr<ResourceStats> LocalRuntime::stats(const std::string& id) {
  std::vector<std::string> cg = cgroupsOf(id);
  if (cg.empty()) {
    // No cgroups (rootless on cgroup v1): what the container's processes use.
    absl::StatusOr<std::vector<pid_t>> procs = pids(id);
    if (!procs.ok()) return procs.status();
    return processStats(*procs);
  }
  CgroupStats c = readCgroupStats(cg);
  ResourceStats s;
  s.cpuUsageNanos = c.cpuUsageNanos;
  s.cpuUserNanos = c.cpuUserNanos;
  s.cpuSystemNanos = c.cpuSystemNanos;
  s.memoryUsage = c.memoryUsage;
  s.memoryLimit = c.memoryLimit;
  s.memoryMaxUsage = c.memoryMaxUsage;
  s.memoryStat.assign(c.memoryStat.begin(), c.memoryStat.end());
  s.pids = c.pids;
  s.pidsLimit = c.pidsLimit;
  return s;
}

absl::Status LocalRuntime::withRootfs(const std::string& id, const ContainerSpec& spec,
                                      const std::function<absl::Status(int rootFd)>& fn) {
  pid_t init = proto::initPidFrom(readFileOrEmpty(containerDir(id) + "/" + proto::kPidFile));
  if (init > 0 && ::kill(init, 0) == 0) {
    // Running: its root, mounts included, through /proc.
    UniqueFd root(::open(strCat("/proc/", init, "/root").c_str(), O_DIRECTORY | O_PATH | O_CLOEXEC));
    if (root.valid()) return fn(root.get());
  }
  // Not running: mount its overlay in a mount namespace of a thread of our
  // own, which goes away with the thread — nothing shows on the host and
  // nothing is left behind, even if we crash.
  std::string dir = containerDir(id);
  BERTH_RETURN_IF_ERROR(makeDir(dir, 0711));
  for (const char* sub : {"upper", "work", "rootfs", "lower"}) BERTH_RETURN_IF_ERROR(makeDir(dir + "/" + sub, 0755));
  std::vector<std::string> lower = spec.lowerDirs;
  if (lower.empty()) lower.push_back(dir + "/lower");
  std::string opts = strCat("lowerdir=", join(lower, ":"), ",upperdir=", dir, "/upper,workdir=", dir, "/work");
  // In a rootless daemon's user namespace overlayfs keeps its whiteouts in user.* xattrs.
  if (options_.rootless) opts += ",userxattr";
  absl::Status result;
  std::thread t([&] {
    if (::unshare(CLONE_NEWNS | CLONE_FS) != 0) {
      result = absl::InternalError(strCat("unshare: ", strerror(errno)));
      return;
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("overlay", (dir + "/rootfs").c_str(), "overlay", 0, opts.c_str()) != 0) {
      result = absl::InternalError(strCat("mounting the container's filesystem: ", strerror(errno)));
      return;
    }
    UniqueFd root(::open((dir + "/rootfs").c_str(), O_DIRECTORY | O_PATH | O_CLOEXEC));
    result = root.valid() ? fn(root.get()) : absl::InternalError("opening the container's filesystem");
  });
  t.join();
  return result;
}

std::vector<std::string> LocalRuntime::limitWarnings(const Resources& r) const {
  bool limited = r.memory > 0 || r.memorySwap > 0 || r.cpuShares > 0 || r.cpuQuota > 0 || r.pidsLimit > 0 ||
                 !r.cpusetCpus.empty() || !r.cpusetMems.empty();
  if (!options_.rootless || !limited) return {};
  return {"Resource limits are not supported and ignored on cgroups V1 rootless systems"};
}

absl::Status LocalRuntime::updateResources(const std::string& id, const Resources& resources,
                                           std::vector<std::string>& warnings) {
  std::vector<std::string> cg = cgroupsOf(id);
  if (cg.empty()) {
    std::vector<std::string> w = limitWarnings(resources);
    warnings.insert(warnings.end(), w.begin(), w.end());
    return absl::OkStatus();
  }
  return createCgroups(cg, resources, warnings);
}

absl::StatusOr<std::unique_ptr<LogCursor>> LocalRuntime::openLogs(const std::string& id, int64_t tail) {
  return openLogCursor(containerDir(id), tail);
}

std::optional<ExitStatus> LocalRuntime::exited(const std::string& id) {
  if (::access((containerDir(id) + "/" + proto::kExitFile).c_str(), F_OK) != 0) return std::nullopt;
  return readExit(id);
}

ExitStatus LocalRuntime::readExit(const std::string& id) {
  ExitStatus e;
  nlohmann::json j = nlohmann::json::parse(readFileOrEmpty(containerDir(id) + "/" + proto::kExitFile), nullptr, false);
  if (j.is_object()) {
    e.exitCode = j.value("ExitCode", 255);
    e.finishedAt = j.value("FinishedAt", "");
  } else {
    // The monitor died without recording an exit (killed, or the machine
    // rebooted): dockerd reports such containers as exited with 255.
    e.exitCode = 255;
    e.finishedAt = formatRfc3339Nano(nowSystem());
  }
  e.oomKilled = oomKilled(cgroupsOf(id));
  return e;
}

void LocalRuntime::watch(const std::string& id, std::function<void(ExitStatus)> onExit) {
  Watch w;
  w.id = id;
  w.onExit = std::move(onExit);
  {
    std::lock_guard lock(mu_);
    if (auto it = controlFds_.find(id); it != controlFds_.end()) {
      w.fd = std::move(it->second);
      controlFds_.erase(it);
    }
  }
  if (!w.fd.valid()) {
    absl::StatusOr<UniqueFd> fd = attach(id, "");
    if (fd.ok()) w.fd = std::move(*fd);
  }
  std::lock_guard lock(mu_);
  if (!w.fd.valid()) {
    exitedUnwatched_.push_back(std::move(w));
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    return;
  }
  int fd = w.fd.get();
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = fd;
  watches_.emplace(fd, std::move(w));
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
}

void LocalRuntime::deliverExit(Watch& w) {
  ExitStatus e = readExit(w.id);
  if (w.onExit) w.onExit(std::move(e));
}

void LocalRuntime::watcherLoop() {
  epoll_event events[32];
  while (!stopping_) {
    int n = ::epoll_wait(epoll_.get(), events, 32, -1);
    if (n < 0 && errno != EINTR) break;
    std::vector<Watch> done;
    {
      std::lock_guard lock(mu_);
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == wake_.get()) {
          uint64_t v;
          (void)!::read(wake_.get(), &v, sizeof v);
          continue;
        }
        auto it = watches_.find(fd);
        if (it == watches_.end()) continue;
        char buf[4096];
        ssize_t r = ::read(fd, buf, sizeof buf);
        if (r > 0) continue;  // only the exit frame comes, then EOF: act on EOF
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
        done.push_back(std::move(it->second));
        watches_.erase(it);
      }
      for (Watch& w : exitedUnwatched_) done.push_back(std::move(w));
      exitedUnwatched_.clear();
    }
    // Outside the lock: the callbacks call back into us (cleanup, start).
    for (Watch& w : done) deliverExit(w);
  }
}

void LocalRuntime::cleanup(const std::string& id) {
  removeCgroups(cgroupsOf(id));
  std::string dir = containerDir(id);
  ::unlink((dir + "/" + proto::kSocketName).c_str());
  ::unlink((dir + "/" + proto::kPidFile).c_str());
  std::lock_guard lock(mu_);
  controlFds_.erase(id);
}

absl::Status LocalRuntime::remove(const std::string& id) {
  cleanup(id);
  UniqueFd parent(::open(options_.containersDir.c_str(), O_DIRECTORY | O_CLOEXEC));
  if (!parent.valid()) return absl::OkStatus();
  return removeAllAt(parent.get(), id);
}

}  // namespace berth::runtime::local
