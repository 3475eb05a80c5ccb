#pragma once
// cgroups for local containers, with no systemd: cgroupfs directly, on a
// pure v2 machine and on a v1/v2 hybrid (each v1 controller its own mount,
// v2 holding what v1 does not, as on this project's CI machine).
// A container's cgroup in each hierarchy is <mount>/<the daemon's own
// cgroup there>/berth/<id>, so whatever confines the daemon confines its
// containers too.
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/spec.h"

namespace berth::runtime::local {

// One hierarchy: "unified" for v2, else the v1 mount's controllers ("memory",
// "cpu,cpuacct"). Written into specs as "controllers=path".
struct CgroupDir {
  std::string controllers;
  std::string path;
};

struct CgroupLayout {
  std::vector<CgroupDir> bases;  // the daemon's own cgroup in each hierarchy we use
  bool unifiedOnly = false;      // pure v2
};

// Reads /proc/self/mountinfo and /proc/self/cgroup.
CgroupLayout detectCgroups();

std::vector<std::string> containerCgroups(const CgroupLayout& layout, const std::string& id);
CgroupDir parseCgroupEntry(const std::string& entry);

// Creates the container's directories and writes the limits. A limit the
// hierarchy cannot apply adds a warning (podman's way), never a silent no-op.
absl::Status createCgroups(const std::vector<std::string>& entries, const Resources& r,
                           std::vector<std::string>& warnings);
absl::Status joinCgroups(const std::vector<std::string>& entries, pid_t pid);
// Kills what is left in them, then removes the directories.
void removeCgroups(const std::vector<std::string>& entries);

// memory: whether the kernel OOM-killed a process in the cgroup.
bool oomKilled(const std::vector<std::string>& entries);
// freezer (v1) or cgroup.freeze (v2).
absl::Status freezeCgroups(const std::vector<std::string>& entries, bool frozen);
// Pids in the container's cgroup (host pid namespace).
std::vector<pid_t> cgroupPids(const std::vector<std::string>& entries);

struct CgroupStats {
  uint64_t cpuUsageNanos = 0, cpuUserNanos = 0, cpuSystemNanos = 0;
  uint64_t memoryUsage = 0, memoryLimit = 0, memoryMaxUsage = 0;
  std::map<std::string, uint64_t> memoryStat;
  uint64_t pids = 0, pidsLimit = 0;
};
CgroupStats readCgroupStats(const std::vector<std::string>& entries);

}  // namespace berth::runtime::local
