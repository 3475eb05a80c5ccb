#include "util/host_info.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <sched.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <sstream>
#include <vector>

#include "util/strings.h"
#include "util/unique_fd.h"

namespace berth {
namespace {

constexpr long kCgroup2SuperMagic = 0x63677270;

int64_t memTotalBytes() {
  std::string meminfo = readFileOrEmpty("/proc/meminfo");  // the views below point into it
  for (std::string_view line : split(meminfo, '\n')) {
    if (consumePrefix(line, "MemTotal:")) {
      line = trim(line);
      consumeSuffix(line, "kB");
      int64_t kb = 0;
      if (parseInt(trim(line), kb)) return kb * 1024;
    }
  }
  return 0;
}

}  // namespace

std::string osReleaseValue(std::string_view osRelease, std::string_view key) {
  for (std::string_view line : split(osRelease, '\n')) {
    if (!consumePrefix(line, key) || !consumePrefix(line, "=")) continue;
    if (line.size() >= 2 && (line.front() == '"' || line.front() == '\'') && line.back() == line.front()) {
      line = line.substr(1, line.size() - 2);
    }
    return std::string(line);
  }
  return "";
}

std::string goArch(std::string_view machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine == "i386" || machine == "i686") return "386";
  if (machine == "armv7l" || machine == "armv6l") return "arm";
  return std::string(machine);  // ppc64le, s390x, riscv64 match already
}

HostInfo readHostInfo() {
  HostInfo h;
  struct utsname u {};
  if (uname(&u) == 0) {
    h.kernelVersion = u.release;
    h.machine = u.machine;
    h.hostname = u.nodename;
  }
  std::string osr = readFileOrEmpty("/etc/os-release");
  if (osr.empty()) osr = readFileOrEmpty("/usr/lib/os-release");
  h.operatingSystem = osReleaseValue(osr, "PRETTY_NAME");
  if (h.operatingSystem.empty()) h.operatingSystem = "Linux";
  h.osVersion = osReleaseValue(osr, "VERSION_ID");

  cpu_set_t set;
  CPU_ZERO(&set);
  h.ncpu = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  h.memTotal = memTotalBytes();

  struct statfs fs {};
  h.cgroupVersion = (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == kCgroup2SuperMagic) ? "2" : "1";
  h.seccomp = readFileOrEmpty("/proc/self/status").find("\nSeccomp:") != std::string::npos;
  if (h.cgroupVersion == "2") {
    std::string controllers = " " + readFileOrEmpty("/sys/fs/cgroup/cgroup.controllers");
    auto has = [&](const char* c) { return controllers.find(std::string(" ") + c) != std::string::npos; };
    h.memoryController = has("memory");
    h.swapAccounting = h.memoryController;
    h.cpuController = has("cpu");
    h.cpusetController = has("cpuset");
    h.pidsController = has("pids");
  } else {
    auto exists = [](const char* p) { return access(p, F_OK) == 0; };
    h.memoryController = exists("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    h.swapAccounting = exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");
    h.cpuController = exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
    h.cpusetController = exists("/sys/fs/cgroup/cpuset/cpuset.cpus");
    h.pidsController = exists("/sys/fs/cgroup/pids");
  }
  h.ipv4Forwarding = readFileOrEmpty("/proc/sys/net/ipv4/ip_forward").starts_with("1");
  return h;
}

bool inInitialUserNamespace() {
  // The initial namespace maps every id to itself: "0 0 4294967295".
  std::string map = readFileOrEmpty("/proc/self/uid_map");
  std::vector<std::string_view> f = splitAny(map, " \n", true);
  return f.size() == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295";
}

std::string defaultRouteIpv4(std::string_view routeTable) {
  std::string iface;
  for (std::string_view line : split(routeTable, '\n', true)) {
    std::vector<std::string_view> f = splitAny(line, " \t", true);
    // Iface Destination Gateway Flags …: a default route has destination 0 and mask 0.
    if (f.size() >= 8 && f[1] == "00000000" && f[7] == "00000000") {
      iface = std::string(f[0]);
      break;
    }
  }
  if (iface.empty()) return "";
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string out;
  for (ifaddrs* a = list; a != nullptr && out.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET || iface != a->ifa_name) continue;
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
    out = text;
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace berth
