#include "runtime/local/cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <sstream>
#include <thread>

#include "util/status.h"
#include "util/strings.h"
#include "util/unique_fd.h"

namespace berth::runtime::local {
namespace {

// The v1 controllers we manage; others (blkio, net_cls, hugetlb…) are left alone.
const std::set<std::string> kV1Controllers = {"cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "devices"};

bool has(const CgroupDir& d, std::string_view controller) {
  if (d.controllers == "unified") return false;
  for (std::string_view c : split(d.controllers, ',')) {
    if (c == controller) return true;
  }
  return false;
}

absl::Status writeValue(const std::string& dir, const std::string& file, const std::string& value) {
  std::string path = dir + "/" + file;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return absl::InternalError(strCat("open ", path, ": ", strerror(errno)));
  if (::write(fd.get(), value.data(), value.size()) < 0) {
    return absl::InternalError(strCat("write ", path, " = ", value, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// v1 cpuset: a new directory starts with empty cpus/mems; copy the parent's.
void inheritCpuset(const std::string& dir) {
  std::string parent = dir.substr(0, dir.rfind('/'));
  for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
    std::string mine = readFileOrEmpty(dir + "/" + f);
    if (mine.find_first_not_of(" \n") == std::string::npos) (void)writeValue(dir, f, readFileOrEmpty(parent + "/" + f));
  }
}

absl::Status mkdirs(const std::string& path, const CgroupDir& d) {
  size_t pos = 0;
  while ((pos = path.find('/', pos + 1)) != std::string::npos) {
    std::string part = path.substr(0, pos);
    if (::mkdir(part.c_str(), 0755) == 0 && has(d, "cpuset")) inheritCpuset(part);
  }
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::InternalError(strCat("creating cgroup ", path, ": ", strerror(errno)));
  }
  if (has(d, "cpuset")) inheritCpuset(path);
  return absl::OkStatus();
}

// Docker's cpu shares (2…262144) on cgroup v2's weight scale (1…10000), as runc.
uint64_t sharesToWeight(int64_t shares) { return 1 + ((uint64_t(shares) - 2) * 9999) / 262142; }

uint64_t readUint(const std::string& path) {
  std::string s = readFileOrEmpty(path);
  if (s.starts_with("max")) return 0;
  return std::strtoull(s.c_str(), nullptr, 10);
}

std::map<std::string, uint64_t> readKeyed(const std::string& path) {
  std::map<std::string, uint64_t> out;
  std::istringstream in(readFileOrEmpty(path));
  std::string k;
  uint64_t v;
  while (in >> k >> v) out[k] = v;
  return out;
}

}  // namespace

CgroupDir parseCgroupEntry(const std::string& entry) {
  size_t eq = entry.find('=');
  if (eq == std::string::npos) return {"", entry};
  return {entry.substr(0, eq), entry.substr(eq + 1)};
}

CgroupLayout detectCgroups() {
  // hierarchy id → our path in it, from /proc/self/cgroup: "4:memory:/a/b", "0::/".
  std::map<std::string, std::string> own;  // controllers ("" for v2) → path
  std::istringstream cg(readFileOrEmpty("/proc/self/cgroup"));
  for (std::string line; std::getline(cg, line);) {
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    own[line.substr(a + 1, b - a - 1)] = line.substr(b + 1);
  }
  CgroupLayout layout;
  std::istringstream mi(readFileOrEmpty("/proc/self/mountinfo"));
  bool anyV1 = false;
  std::string unifiedMount;
  for (std::string line; std::getline(mi, line);) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::vector<std::string_view> pre = split(std::string_view(line).substr(0, dash), ' ');
    std::vector<std::string_view> post = split(std::string_view(line).substr(dash + 3), ' ');
    if (pre.size() < 5 || post.size() < 3) continue;
    std::string mountPoint(pre[4]);
    std::string root(pre[3]);
    if (post[0] == "cgroup2") {
      unifiedMount = mountPoint;
      continue;
    }
    if (post[0] != "cgroup") continue;
    std::vector<std::string> controllers;
    for (std::string_view opt : split(post[2], ',')) {
      if (kV1Controllers.contains(std::string(opt))) controllers.push_back(std::string(opt));
    }
    if (controllers.empty()) continue;
    anyV1 = true;
    std::string key;
    for (const auto& c : controllers) key += (key.empty() ? "" : ",") + c;
    // /proc/self/cgroup names co-mounted controllers in the mount's option order.
    std::string path = own.contains(key) ? own[key] : "/";
    if (root != "/" && path.starts_with(root)) path = path.substr(root.size());
    layout.bases.push_back({key, mountPoint + (path == "/" ? "" : path)});
  }
  if (!unifiedMount.empty()) {
    std::string path = own.contains("") ? own[""] : "/";
    layout.bases.push_back({"unified", unifiedMount + (path == "/" ? "" : path)});
    layout.unifiedOnly = !anyV1;
  }
  return layout;
}

std::vector<std::string> containerCgroups(const CgroupLayout& layout, const std::string& id) {
  std::vector<std::string> out;
  for (const CgroupDir& d : layout.bases) {
    // On a hybrid, v2 holds only what v1 lacks (hugetlb here): not worth a directory.
    if (d.controllers == "unified" && !layout.unifiedOnly) continue;
    out.push_back(d.controllers + "=" + d.path + "/berth/" + id);
  }
  return out;
}

absl::Status createCgroups(const std::vector<std::string>& entries, const Resources& r,
                           std::vector<std::string>& warnings) {
  bool memoryDone = false, cpuDone = false, pidsDone = false, cpusetDone = false;
  for (const std::string& e : entries) {
    CgroupDir d = parseCgroupEntry(e);
    absl::Status st = mkdirs(d.path, d);
    if (!st.ok()) {
      warnings.push_back(strCat("cgroup ", d.controllers, " not available: ", st.message()));
      continue;
    }
    auto apply = [&](const std::string& file, const std::string& value) {
      absl::Status w = writeValue(d.path, file, value);
      if (!w.ok()) warnings.push_back(std::string(w.message()));
      return w.ok();
    };
    if (d.controllers == "unified") {
      std::string parent = d.path.substr(0, d.path.rfind('/'));
      std::string available = readFileOrEmpty(parent + "/cgroup.controllers");
      for (std::string_view c : {"memory", "cpu", "pids", "cpuset"}) {
        if (available.find(c) != std::string::npos) (void)writeValue(parent, "cgroup.subtree_control", strCat("+", c));
      }
      if (r.memory > 0 && exists(d.path + "/memory.max")) {
        memoryDone = apply("memory.max", strCat(r.memory));
        if (r.memorySwap > 0) apply("memory.swap.max", strCat(r.memorySwap - r.memory));
        if (r.memorySwap == -1) apply("memory.swap.max", "max");
      }
      if (r.memoryReservation > 0 && exists(d.path + "/memory.low")) apply("memory.low", strCat(r.memoryReservation));
      if (exists(d.path + "/cpu.max")) {
        if (r.cpuShares > 0) cpuDone = apply("cpu.weight", strCat(sharesToWeight(r.cpuShares)));
        if (r.cpuQuota > 0) cpuDone = apply("cpu.max", strCat(r.cpuQuota, " ", r.cpuPeriod > 0 ? r.cpuPeriod : 100000));
      }
      if (r.pidsLimit > 0 && exists(d.path + "/pids.max")) pidsDone = apply("pids.max", strCat(r.pidsLimit));
      if (exists(d.path + "/cpuset.cpus")) {
        if (!r.cpusetCpus.empty()) cpusetDone = apply("cpuset.cpus", r.cpusetCpus);
        if (!r.cpusetMems.empty()) apply("cpuset.mems", r.cpusetMems);
      }
      continue;
    }
    if (has(d, "memory")) {
      if (r.memory > 0) {
        memoryDone = apply("memory.limit_in_bytes", strCat(r.memory));
        int64_t swap = r.memorySwap == 0 ? 2 * r.memory : r.memorySwap;
        if (exists(d.path + "/memory.memsw.limit_in_bytes")) {
          apply("memory.memsw.limit_in_bytes", swap < 0 ? "-1" : strCat(swap));
        } else if (r.memorySwap != 0) {
          warnings.push_back("Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.");
        }
      }
      if (r.memoryReservation > 0) apply("memory.soft_limit_in_bytes", strCat(r.memoryReservation));
    }
    if (has(d, "cpu")) {
      if (r.cpuShares > 0) cpuDone = apply("cpu.shares", strCat(r.cpuShares));
      if (r.cpuQuota > 0) {
        apply("cpu.cfs_period_us", strCat(r.cpuPeriod > 0 ? r.cpuPeriod : 100000));
        cpuDone = apply("cpu.cfs_quota_us", strCat(r.cpuQuota));
      }
    }
    if (has(d, "pids") && r.pidsLimit > 0) pidsDone = apply("pids.max", strCat(r.pidsLimit));
    if (has(d, "cpuset")) {
      if (!r.cpusetCpus.empty()) cpusetDone = apply("cpuset.cpus", r.cpusetCpus);
      if (!r.cpusetMems.empty()) apply("cpuset.mems", r.cpusetMems);
    }
    if (has(d, "devices")) {
      // dockerd's default device rules: nothing but the basic nodes, ptys and mknod.
      apply("devices.deny", "a");
      for (const char* rule : {"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                               "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"}) {
        apply("devices.allow", rule);
      }
    }
  }
  if (r.memory > 0 && !memoryDone) warnings.push_back("Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.");
  if ((r.cpuShares > 0 || r.cpuQuota > 0) && !cpuDone) warnings.push_back("Your kernel does not support CPU limit capabilities or the cgroup is not mounted. Limitation discarded.");
  if (r.pidsLimit > 0 && !pidsDone) warnings.push_back("Your kernel does not support pids limit capabilities or the cgroup is not mounted. PIDs limit discarded.");
  if (!r.cpusetCpus.empty() && !cpusetDone) warnings.push_back("Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.");
  return absl::OkStatus();
}

absl::Status joinCgroups(const std::vector<std::string>& entries, pid_t pid) {
  for (const std::string& e : entries) {
    CgroupDir d = parseCgroupEntry(e);
    if (!exists(d.path)) continue;
    BERTH_RETURN_IF_ERROR(writeValue(d.path, "cgroup.procs", strCat(pid)));
  }
  return absl::OkStatus();
}

void removeCgroups(const std::vector<std::string>& entries) {
  for (const std::string& e : entries) {
    CgroupDir d = parseCgroupEntry(e);
    if (!exists(d.path)) continue;
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (::rmdir(d.path.c_str()) == 0 || errno == ENOENT) break;
      // Busy: stragglers (an exec'd process) still inside. Kill and retry.
      std::istringstream in(readFileOrEmpty(d.path + "/cgroup.procs"));
      for (pid_t p; in >> p;) ::kill(p, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

bool oomKilled(const std::vector<std::string>& entries) {
  for (const std::string& e : entries) {
    CgroupDir d = parseCgroupEntry(e);
    if (d.controllers == "unified") {
      auto ev = readKeyed(d.path + "/memory.events");
      if (ev["oom_kill"] > 0) return true;
    } else if (has(d, "memory")) {
      auto ev = readKeyed(d.path + "/memory.oom_control");
      if (ev["oom_kill"] > 0) return true;
    }
  }
  return false;
}

absl::Status freezeCgroups(const std::vector<std::string>& entries, bool frozen) {
  for (const std::string& e : entries) {
    CgroupDir d = parseCgroupEntry(e);
    if (d.controllers == "unified" && exists(d.path + "/cgroup.freeze")) {
      return writeValue(d.path, "cgroup.freeze", frozen ? "1" : "0");
    }
    if (has(d, "freezer")) {
      BERTH_RETURN_IF_ERROR(writeValue(d.path, "freezer.state", frozen ? "FROZEN" : "THAWED"));
      // FREEZING is transitional; wait until the state settles.
      for (int i = 0; i < 200; ++i) {
        std::string s = readFileOrEmpty(d.path + "/freezer.state");
        if (s.starts_with(frozen ? "FROZEN" : "THAWED")) return absl::OkStatus();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      return absl::InternalError("the freezer did not settle");
    }
  }
  return absl::FailedPreconditionError("no freezer cgroup is available to pause the container");
}

std::vector<pid_t> cgroupPids(const std::vector<std::string>& entries) {
  std::vector<pid_t> out;
  for (const std::string& e : entries) {
    CgroupDir d = parseCgroupEntry(e);
    if (d.controllers != "unified" && !has(d, "pids") && !has(d, "memory")) continue;
    std::istringstream in(readFileOrEmpty(d.path + "/cgroup.procs"));
    for (pid_t p; in >> p;) out.push_back(p);
    break;
  }
  return out;
}

CgroupStats readCgroupStats(const std::vector<std::string>& entries) {
  CgroupStats s;
  for (const std::string& e : entries) {
    CgroupDir d = parseCgroupEntry(e);
    if (d.controllers == "unified") {
      auto cpu = readKeyed(d.path + "/cpu.stat");
      s.cpuUsageNanos = cpu["usage_usec"] * 1000;
      s.cpuUserNanos = cpu["user_usec"] * 1000;
      s.cpuSystemNanos = cpu["system_usec"] * 1000;
      s.memoryUsage = readUint(d.path + "/memory.current");
      s.memoryLimit = readUint(d.path + "/memory.max");
      s.memoryMaxUsage = readUint(d.path + "/memory.peak");
      s.memoryStat = readKeyed(d.path + "/memory.stat");
      s.pids = readUint(d.path + "/pids.current");
      s.pidsLimit = readUint(d.path + "/pids.max");
      continue;
    }
    if (has(d, "cpuacct")) {
      s.cpuUsageNanos = readUint(d.path + "/cpuacct.usage");
      auto st = readKeyed(d.path + "/cpuacct.stat");  // in USER_HZ ticks
      long hz = ::sysconf(_SC_CLK_TCK);
      s.cpuUserNanos = st["user"] * (1000000000ull / uint64_t(hz));
      s.cpuSystemNanos = st["system"] * (1000000000ull / uint64_t(hz));
    }
    if (has(d, "memory")) {
      s.memoryUsage = readUint(d.path + "/memory.usage_in_bytes");
      s.memoryLimit = readUint(d.path + "/memory.limit_in_bytes");
      s.memoryMaxUsage = readUint(d.path + "/memory.max_usage_in_bytes");
      s.memoryStat = readKeyed(d.path + "/memory.stat");
    }
    if (has(d, "pids")) {
      s.pids = readUint(d.path + "/pids.current");
      s.pidsLimit = readUint(d.path + "/pids.max");
    }
  }
  return s;
}

}  // namespace berth::runtime::local
