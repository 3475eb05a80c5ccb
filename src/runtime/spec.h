#pragma once
// Everything a runtime needs to start one container, already decided by the
// engine (dockerd's merge of image config and request is done before this).
// The local runtime writes it as spec.json into the container directory for
// the setup helper; the kube backend maps it to a Pod.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::runtime {

struct Mount {
  std::string type;         // "bind" (binds and volumes) or "tmpfs"
  std::string source;       // host path for binds
  std::string destination;  // absolute path in the container
  bool readOnly = false;
  std::string propagation;  // rprivate (default), private, rshared, shared, rslave, slave
  std::string options;      // tmpfs: "size=…,mode=…"
  std::string volume;       // a named or anonymous volume's name (source is its directory here)
  std::string volumeHandle;  // set: the runtime keeps the volume (StoredVolume::handle), source is empty
  // A volume that is empty when mounted first gets what the image has at
  // the destination (Docker's copy-up); off with `nocopy`. The kube backend
  // cannot (the image's files are on the node).
  bool copyUp = false;
};

struct Rlimit {
  std::string name;  // "nofile", "nproc", … (Docker's names)
  int64_t soft = 0, hard = 0;
};

struct IdMapping {
  uint32_t containerId = 0, hostId = 0, size = 0;
};

struct Resources {
  int64_t memory = 0;       // bytes; 0 = unlimited
  int64_t memorySwap = 0;   // memory + swap; -1 unlimited; 0 = twice memory (dockerd)
  int64_t memoryReservation = 0;
  int64_t cpuShares = 0;
  int64_t cpuPeriod = 0;    // µs
  int64_t cpuQuota = 0;     // µs per period; NanoCpus is turned into these
  std::string cpusetCpus, cpusetMems;
  int64_t pidsLimit = 0;    // 0 or -1 = unlimited
};

// A port the container serves (its image's EXPOSE or -p/-P), for runtimes
// that declare them (the kube backend's Pod and Services).
struct Port {
  int containerPort = 0;
  std::string protocol = "tcp";
};

struct ContainerSpec {
  std::string id;
  std::string name;   // Docker's name, without the leading '/'
  std::string image;  // the reference as the user gave it (kube: what the node pulls)
  std::map<std::string, std::string> labels;
  std::vector<Port> ports;
  // Root filesystem: overlay of the image's snapshots (top layer first) and
  // the container's own upper and work dirs, mounted on `rootfs`.
  std::vector<std::string> lowerDirs;
  std::string upperDir, workDir, rootfs;
  bool readonlyRootfs = false;

  // The process.
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::string user;  // Docker's User field, resolved by the helper inside the root
  std::vector<std::string> groupAdd;
  bool terminal = false;
  std::vector<std::string> capabilities;  // the full set the process keeps ("CAP_CHOWN", …)
  bool noNewPrivileges = false;
  bool seccomp = true;  // dockerd's default profile unless seccomp=unconfined or privileged
  std::vector<Rlimit> rlimits;
  int oomScoreAdj = 0;
  bool init = false;  // --init: a reaping pid 1 runs the process

  std::string hostname, domainname;
  std::vector<Mount> mounts;
  // Files the engine writes in the container dir and binds at /etc/….
  std::string hostsFile, resolvConfFile, hostnameFile;
  std::vector<std::string> maskedPaths, readonlyPaths;
  bool privileged = false;
  int64_t shmSize = 64 << 20;
  std::map<std::string, std::string> sysctls;

  // Namespaces: "private" or "host" for net, pid, ipc, uts; net may also
  // be "path": join the namespace pinned at netnsPath (set up by the engine).
  std::string netMode = "private", pidMode = "private", ipcMode = "private", utsMode = "private";
  std::string netnsPath;
  // Networking's part of /etc: the whole resolv.conf (the engine's network
  // side writes it), extra "ip\tname" lines for /etc/hosts, and
  // the container's own address for its hostname line (empty: 127.0.1.1).
  std::string resolvConf;
  std::vector<std::string> extraHosts;
  std::string ipAddress;
  // Non-empty: a user namespace with these mappings.
  std::vector<IdMapping> uidMappings, gidMappings;

  // cgroup directories to create and join, one per hierarchy (v2 unified
  // and each v1 controller in use), and the limits to write there.
  std::vector<std::string> cgroupPaths;
  Resources resources;
};

std::string toJson(const ContainerSpec& spec);
absl::StatusOr<ContainerSpec> specFromJson(std::string_view text);

}  // namespace berth::runtime
