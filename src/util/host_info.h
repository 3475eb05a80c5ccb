#pragma once
// Facts about the machine Berth runs on, read from the kernel (uname, sysinfo,
// /proc, /etc/os-release). Pure reads; no caching here.
#include <cstdint>
#include <string>
#include <string_view>

namespace berth {

struct HostInfo {
  std::string hostname;
  std::string kernelVersion;    // uname release, "6.1.0-18-amd64"
  std::string machine;          // uname machine, "x86_64"
  std::string operatingSystem;  // os-release PRETTY_NAME, "Debian GNU/Linux 12 (bookworm)"
  std::string osVersion;        // os-release VERSION_ID, "12"
  int ncpu = 1;                 // CPUs this process may run on
  int64_t memTotal = 0;         // bytes, /proc/meminfo MemTotal
  std::string cgroupVersion;    // "2" on a unified hierarchy, "1" on v1 or hybrid
  bool seccomp = false;         // kernel supports seccomp filters
  // Resource controllers the cgroup hierarchy offers, and IP forwarding.
  bool memoryController = false, swapAccounting = false, cpuController = false, cpusetController = false,
       pidsController = false, ipv4Forwarding = false;
};

HostInfo readHostInfo();

// False inside a user namespace (a rootless daemon's, a container's): the
// kernel then refuses mknod, trusted.* xattrs and the host's cgroups even to
// uid 0.
bool inInitialUserNamespace();

// The IPv4 address of the interface the default route leaves through (the
// host as other machines and slirp4netns see it); empty when there is none.
// `routeTable` is /proc/net/route's text.
std::string defaultRouteIpv4(std::string_view routeTable);

// Go's GOARCH name for a uname machine ("x86_64" → "amd64", "aarch64" → "arm64").
std::string goArch(std::string_view machine);

// PRETTY_NAME / VERSION_ID from os-release text; exposed for tests.
std::string osReleaseValue(std::string_view osRelease, std::string_view key);

}  // namespace berth
