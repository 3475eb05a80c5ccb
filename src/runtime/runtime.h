#pragma once
// What the engine asks of a runtime: start a container from a decided spec,
// signal it, talk to its monitor (attach, resize), learn when it exits, read
// its logs and figures, and clean up. The local runtime implements it with
// Linux primitives (runtime/local); the kube backend will with Pods.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/spec.h"
#include "util/unique_fd.h"

namespace berth::runtime {

// What docker cp puts into a container: a tree the daemon unpacked (and
// checked) already, with the upload's options.
struct CopyOptions {
  bool noOverwriteDirNonDir = false;
  std::optional<std::pair<uint32_t, uint32_t>> owner;  // copyUIDGID: the container user's ids
};
struct PendingCopy {
  std::string path;  // the directory in the container
  std::string tree;  // the unpacked tree on this machine
  CopyOptions options;
};

// docker cp's stat of a path in a container not on this machine.
struct PathInfo {
  std::string name;
  int64_t size = 0;
  uint32_t mode = 0;  // st_mode
  int64_t mtimeNanos = 0;
  std::string linkTarget;
};

struct StartOptions {
  bool openStdin = false;
  bool stdinOnce = false;
  int64_t logMaxSize = 0;  // bytes; 0: never rotated
  int logMaxFiles = 1;
  // Monitor-side ends of attach connections made before start (their
  // hello frames already written): they see every byte of output.
  std::vector<UniqueFd> attachments;
  // Runtimes not on this machine: trees copied in before start, in order,
  // to land before the process runs (withRootfs does this here).
  std::vector<PendingCopy> copies;
};

struct Started {
  pid_t pid = 0;
  std::vector<std::string> warnings;
  std::string ipAddress;  // where the runtime networks the container itself (a pod's IP); else empty
  std::string startedAt;  // RFC 3339 when the runtime knows better than "now" (the cluster's clock)
};

struct ExitStatus {
  int exitCode = 0;
  std::string finishedAt;  // RFC 3339 with nanoseconds
  bool oomKilled = false;
};

struct ProcessList {
  std::vector<std::string> titles;
  std::vector<std::vector<std::string>> processes;
};

struct ResourceStats {
  uint64_t cpuUsageNanos = 0, cpuUserNanos = 0, cpuSystemNanos = 0;
  uint64_t memoryUsage = 0, memoryLimit = 0, memoryMaxUsage = 0;
  std::vector<std::pair<std::string, uint64_t>> memoryStat;
  uint64_t pids = 0, pidsLimit = 0;
};

// One log record: a line (with its '\n') or a piece of one.
struct LogEntry {
  uint8_t stream = 1;  // 1 stdout, 2 stderr
  uint64_t timeNanos = 0;
  std::string_view data;
  bool partial = false;  // the line goes on in the stream's next entry
};

// Reads a container's log from some point on; for `logs -f`, again and
// again as more arrives.
class LogCursor {
 public:
  virtual ~LogCursor() = default;
  // Hands every complete entry written since the last call to `sink`.
  virtual absl::Status readAvailable(const std::function<void(const LogEntry&)>& sink) = 0;
  // Becomes readable when more may have been written (drain with
  // drainChange()); -1 when the runtime cannot tell (poll instead).
  virtual int changeFd() const = 0;
  virtual void drainChange() = 0;
};

// A named volume the runtime keeps itself rather than as a directory here
// (the kube backend's PersistentVolumeClaims).
struct StoredVolume {
  std::string handle;  // what mounts name it by (Mount::volumeHandle) and removeVolume takes
  std::vector<std::pair<std::string, std::string>> status;  // the volume's Status in inspect
};

inline std::string execKey(const std::string& containerId, const std::string& execId) {
  return containerId + "/exec/" + execId;
}

class Runtime {
 public:
  virtual ~Runtime() = default;

  // True when containers run on this machine, so the engine sets up their
  // network namespaces, published ports and /etc files here; false for
  // pods, which the cluster networks.
  virtual bool onThisMachine() const { return true; }

  // Containers not on this machine: whether their published ports are
  // bound here, each connection then relayed to what dialPort returns.
  virtual bool publishesPortsHere() const { return false; }
  // A stream socket whose far end reaches `port` of the container (a tunnel
  // or a connection under way); must not block: it runs on the relay's thread.
  virtual absl::StatusOr<UniqueFd> dialPort(const std::string& /*id*/, uint16_t /*port*/) {
    return absl::UnimplementedError("this runtime does not relay ports");
  }

  // Starts the container; returns once its process runs (or with the
  // reason it could not: runc's texts, e.g. `exec: "x": executable file
  // not found in $PATH`, as FailedPrecondition/InvalidArgument).
  virtual absl::StatusOr<Started> start(const ContainerSpec& spec, StartOptions options) = 0;

  // A process in a running container (docker exec), from `process`'s
  // process fields. It is then known as execKey(containerId, execId) to
  // watch, attach, kill, resize and exited.
  virtual absl::StatusOr<Started> exec(const std::string& containerId, const std::string& execId,
                                       const ContainerSpec& process, StartOptions options) = 0;

  // Its exit, if it exited (even when nobody watched).
  virtual std::optional<ExitStatus> exited(const std::string& id) = 0;

  // Calls `onExit` once, from a runtime thread, when the container's init
  // exits — also for a container started by an earlier daemon, and at once
  // if it already exited while nobody watched.
  virtual void watch(const std::string& id, std::function<void(ExitStatus)> onExit) = 0;

  // Delivers `signal` to the container's init. FailedPrecondition if it is not running.
  virtual absl::Status kill(const std::string& id, int signal) = 0;

  // A new connection to the container's monitor, hello sent for `streams`
  // ("i", "o", "e" in any combination). Frames of runtime/monitor_protocol.h.
  virtual absl::StatusOr<UniqueFd> attach(const std::string& id, std::string_view streams) = 0;

  virtual absl::Status resize(const std::string& id, unsigned rows, unsigned cols) = 0;
  virtual absl::Status pause(const std::string& id, bool paused) = 0;
  virtual absl::StatusOr<std::vector<pid_t>> pids(const std::string& id) = 0;
  virtual absl::StatusOr<ResourceStats> stats(const std::string& id) = 0;

  // Runs `fn` with a directory fd of the container's root filesystem as its
  // processes see it (running), or as it would start (its layers and
  // writable layer, from `spec`; volumes are not mounted then). Paths under
  // it must be resolved with util/rooted_fs. For docker cp.
  virtual absl::Status withRootfs(const std::string& id, const ContainerSpec& spec,
                                  const std::function<absl::Status(int rootFd)>& fn) = 0;

  // docker cp for containers not on this machine (onThisMachine() false),
  // where withRootfs cannot reach: done where the container runs, while it
  // runs. NotFound for a path that is not there.
  virtual absl::StatusOr<PathInfo> statPath(const std::string&, const std::string&) {
    return absl::UnimplementedError("statPath: the container's files are on this machine");
  }
  // Writes a tar of `path` (its base name at the top) to `outFd`.
  virtual absl::Status archivePath(const std::string&, const std::string&, int) {
    return absl::UnimplementedError("archivePath: the container's files are on this machine");
  }
  // Copies the tree at `treeFd` into directory `path` (InvalidArgument:
  // not a directory, or refused by noOverwriteDirNonDir).
  virtual absl::Status copyIn(const std::string&, const std::string&, int, const CopyOptions&) {
    return absl::UnimplementedError("copyIn: the container's files are on this machine");
  }

  // What cannot be applied of `resources` here, as warnings (create's
  // Warnings, start's log); empty when every limit takes.
  virtual std::vector<std::string> limitWarnings(const Resources& resources) const = 0;
  // New resource limits for a running container (docker update); what
  // cannot be applied is a warning.
  virtual absl::Status updateResources(const std::string& id, const Resources& resources,
                                       std::vector<std::string>& warnings) = 0;
  // The container's writable layer as a directory (overlay upper: whiteouts
  // are 0/0 character devices), for docker diff.
  virtual std::string writableLayer(const std::string& id) = 0;

  // From the last `tail` lines (-1: all) of the container's log.
  virtual absl::StatusOr<std::unique_ptr<LogCursor>> openLogs(const std::string& id, int64_t tail) = 0;

  // After exit: removes what the run left (cgroups, sockets); the
  // container's files stay for the next start.
  virtual void cleanup(const std::string& id) = 0;
  // With the container: everything of it, its writable layer included.
  virtual absl::Status remove(const std::string& id) = 0;
  // Removes at once, without waiting, everything the runtime made for the
  // daemon's containers: the kube backend's at shutdown (a CI job's pods
  // must not outlive the job's Berth) and at --reapmax. The engine forgets
  // the containers after.
  virtual void removeEverything() {}

  // Named volumes. Which `docker volume create -o` options the runtime's
  // volumes take; empty: the local driver's (a directory here).
  virtual std::vector<std::string> volumeOptions() const { return {}; }
  // Keeps the named volume itself, or nullopt: a directory here will do.
  virtual absl::StatusOr<std::optional<StoredVolume>> createVolume(
      const std::string& /*name*/, const std::map<std::string, std::string>& /*options*/) {
    return std::nullopt;
  }
  // Removes what createVolume kept (gone already is fine).
  virtual absl::Status removeVolume(const std::string& /*handle*/) { return absl::OkStatus(); }
};

}  // namespace berth::runtime
