#pragma once
// What the container routes need from the engine. Implemented by
// engine::ContainerService. Shapes are Docker's JSON documents (inspect,
// summaries), built by the engine; the routes pass them through.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/types/filters.h"
#include "nlohmann/json.hpp"
#include "util/unique_fd.h"

namespace berth::api::backend {

struct ContainerCreateRequest {
  std::string name;      // may be empty: a name is generated
  std::string platform;  // may be empty
  nlohmann::json body;   // ContainerConfig with HostConfig and NetworkingConfig
};

struct ContainerCreated {
  std::string id;
  std::vector<std::string> warnings;
};

struct ContainerListOptions {
  bool all = false;
  int limit = -1;  // > 0: the newest N, stopped ones included
  bool size = false;
  types::Filters filters;
};

struct ContainerRemoveOptions {
  bool force = false;
  bool volumes = false;
  bool link = false;
};

struct ContainerPruneReport {
  std::vector<std::string> deleted;
  int64_t spaceReclaimed = 0;
};

enum class WaitCondition { NotRunning, NextExit, Removed };

struct WaitResult {
  int64_t statusCode = 0;
  std::string error;  // empty: none
};
using WaitCallback = std::function<void(WaitResult)>;

// A connection to a container's stdio: frames of
// runtime/monitor_protocol.h (stdout 1, stderr 2 from it; stdin 0,
// close-stdin 0x20 to it). Ends when the container exits.
struct AttachTarget {
  UniqueFd stream;
  bool tty = false;
};

struct LogsOptions {
  bool stdoutWanted = false, stderrWanted = false;
  bool follow = false;
  bool timestamps = false;
  int64_t tail = -1;  // -1: all
  std::optional<int64_t> sinceNanos, untilNanos;
};

struct LogLine {
  uint8_t stream = 1;  // 1 stdout, 2 stderr
  int64_t timeNanos = 0;
  std::string_view data;
  bool partial = false;
};

// A container's log from the chosen point on.
class LogReader {
 public:
  virtual ~LogReader() = default;
  // Every line written since the last call, filtered by the options.
  virtual absl::Status readAvailable(const std::function<void(const LogLine&)>& sink) = 0;
  // Readable when more may have arrived; then drainChange(). -1: poll.
  virtual int changeFd() const = 0;
  virtual void drainChange() = 0;
  // True once the container is not running: after a last readAvailable()
  // nothing more will come.
  virtual bool finished() = 0;
  virtual bool tty() const = 0;
};

// docker cp's view of a path: X-Docker-Container-Path-Stat.
struct PathStat {
  std::string name;
  int64_t size = 0;
  uint32_t mode = 0;  // Go's os.FileMode bits
  std::string mtime;  // RFC 3339
  std::string linkTarget;
};

// `docker diff`: Kind 0 changed, 1 added, 2 deleted.
struct FsChange {
  std::string path;
  int kind = 0;
};

struct ProcessTable {
  std::vector<std::string> titles;
  std::vector<std::vector<std::string>> processes;
};

class ContainerBackend {
 public:
  virtual ~ContainerBackend() = default;
  // NotFound "No such image: …" (the CLI then pulls and retries),
  // AlreadyExists (409) for a taken name, InvalidArgument for bad values.
  virtual absl::StatusOr<ContainerCreated> createContainer(const ContainerCreateRequest& req) = 0;
  // NotFound "No such container: …".
  virtual absl::StatusOr<nlohmann::ordered_json> inspectContainer(std::string_view name, bool size) = 0;
  virtual absl::StatusOr<std::vector<nlohmann::ordered_json>> listContainers(const ContainerListOptions& options) = 0;
  virtual absl::Status renameContainer(std::string_view name, std::string_view newName) = 0;
  virtual absl::Status removeContainer(std::string_view name, const ContainerRemoveOptions& options) = 0;
  virtual absl::StatusOr<ContainerPruneReport> pruneContainers(const types::Filters& filters) = 0;

  // false: it was already running (the API's 304).
  virtual absl::StatusOr<bool> startContainer(std::string_view name) = 0;
  // Sends the stop signal (`signal`, else the container's StopSignal), and
  // SIGKILL after `timeoutSeconds` (else StopTimeout, else 10; -1 waits
  // forever). `done` runs once it exited. false: it was not running (304).
  virtual absl::StatusOr<bool> stopContainer(std::string_view name, std::string_view signal,
                                             std::optional<int> timeoutSeconds, std::function<void()> done) = 0;
  // Stop (when running) then start; `done` gets the start's outcome.
  virtual absl::Status restartContainer(std::string_view name, std::optional<int> timeoutSeconds,
                                        std::function<void(absl::Status)> done) = 0;
  // FailedPrecondition "Container … is not running" (409) when it is not.
  virtual absl::Status killContainer(std::string_view name, std::string_view signal) = 0;
  virtual absl::Status pauseContainer(std::string_view name, bool paused) = 0;
  // Answers now, or returns nullopt and calls `done` later from another thread.
  virtual absl::StatusOr<std::optional<WaitResult>> waitContainer(std::string_view name, WaitCondition condition,
                                                                  WaitCallback done) = 0;
  // `streams`: any of "i", "o", "e". On a container that is not running yet
  // the connection is held until it starts, and sees all its output.
  virtual absl::StatusOr<AttachTarget> attachContainer(std::string_view name, std::string_view streams) = 0;
  virtual absl::Status resizeContainer(std::string_view name, unsigned rows, unsigned cols) = 0;
  virtual absl::StatusOr<std::unique_ptr<LogReader>> containerLogs(std::string_view name, const LogsOptions& options) = 0;
  virtual absl::StatusOr<ProcessTable> topContainer(std::string_view name, std::string_view psArgs) = 0;
  // Exec: create (409 unless running), start (detached, or with a stream
  // to relay as attach does), inspect (dockerd's ExecInspect), resize.
  // NotFound "No such exec instance: …".
  virtual absl::StatusOr<std::string> createExec(std::string_view container, const nlohmann::json& body) = 0;
  virtual absl::StatusOr<AttachTarget> startExec(std::string_view execId, bool detach) = 0;
  virtual absl::StatusOr<nlohmann::ordered_json> inspectExec(std::string_view execId) = 0;
  virtual absl::Status resizeExec(std::string_view execId, unsigned rows, unsigned cols) = 0;

  // docker cp. NotFound "Could not find the file … in container …".
  virtual absl::StatusOr<PathStat> statContainerPath(std::string_view name, std::string_view path) = 0;
  // A tar of `path` (its base name at the top) in an unlinked temporary file, read from offset 0.
  virtual absl::StatusOr<std::pair<PathStat, UniqueFd>> archiveContainerPath(std::string_view name,
                                                                            std::string_view path) = 0;
  // An unlinked temporary file for a request body to land in first.
  virtual absl::StatusOr<UniqueFd> scratchFile() = 0;
  // Extracts the tar in `tarFd` (from offset 0) into directory `path`.
  virtual absl::Status extractToContainer(std::string_view name, std::string_view path, int tarFd,
                                          bool noOverwriteDirNonDir, bool copyUIDGID) = 0;

  // docker update: resources (applied to a running container's cgroups at
  // once) and the restart policy. Returns dockerd's Warnings.
  virtual absl::StatusOr<std::vector<std::string>> updateContainer(std::string_view name, const nlohmann::json& body) = 0;
  virtual absl::StatusOr<std::vector<FsChange>> containerChanges(std::string_view name) = 0;
  // docker export: a tar of the container's filesystem (without volumes or
  // the kernel's filesystems) in an unlinked temporary file, at offset 0.
  virtual absl::StatusOr<UniqueFd> exportContainer(std::string_view name) = 0;

  // dockerd's stats document; `previous` (may be null) is the last one, for the precpu fields.
  virtual absl::StatusOr<nlohmann::ordered_json> containerStats(std::string_view name,
                                                                const nlohmann::ordered_json* previous) = 0;
};

}  // namespace berth::api::backend
