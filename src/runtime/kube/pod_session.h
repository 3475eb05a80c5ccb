#pragma once
// The engine's attach and exec connections — frames of
// runtime/monitor_protocol.h, as a container's monitor speaks them on this
// machine — joined to a pod's streams:
//   exec    the helper's `exec` through pods/exec: its output to the
//           connection; stdin (in the helper's frames, so that its end can
//           be told through a v4 stream) and resizes back into it.
//   attach  output from the helper's log (`logs --follow`), so stdout and
//           stderr stay apart and a connection made before start misses
//           nothing; stdin and resizes through pods/attach, whose end the
//           kubelet turns into the end of stdin (StdinOnce).
// A session runs on threads of its own and holds itself alive until they
// end; it ends with the process (kExit "<code>" on the connection, then
// shutdown), when its client leaves, or when cancelled.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/kube/pod_stream.h"
#include "runtime/runtime.h"
#include "util/unique_fd.h"

namespace berth::runtime::kube {

// Hands the whole log records at the front of `buffer` to `sink` and
// removes them; DataLoss for bytes that are not records. The helper's
// marker record is not handed on: it sets *caughtUp.
absl::Status takeLogRecords(std::string& buffer, const std::function<void(const LogEntry&)>& sink,
                            bool* caughtUp = nullptr);

// Counts running sessions, so that their owner can wait for them all.
class SessionTracker {
 public:
  void add();
  void done();
  void waitIdle();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int live_ = 0;
};

class PodSession : public std::enable_shared_from_this<PodSession> {
 public:
  enum class Kind { kExec, kAttach };
  struct Parts {
    Kind kind = Kind::kExec;
    UniqueFd connection;   // the engine's; invalid for a detached exec
    std::string streams;   // what it wants: "i", "o", "e"
    bool tty = false;
    bool framedStdin = false;             // exec: stdin in the helper's frames
    std::unique_ptr<PodStream> output;    // exec: the command; attach: the log
    std::unique_ptr<PodStream> input;     // attach: pods/attach for stdin; exec: none (output takes it)
  };
  // Exec: the command's exit code from its stream (or the failure); the
  // session sends what this returns as kExit. Attach: called with the end
  // of the log; the session then waits for containerExited().
  using OnEnd = std::function<int(const absl::StatusOr<int>& streamResult)>;

  // Reads the hello frame the engine wrote first: which streams it wants.
  static absl::StatusOr<std::string> readHello(int fd);

  static std::shared_ptr<PodSession> start(Parts parts, SessionTracker& tracker, OnEnd onEnd);

  // Attach: the container's process exited with `code`; the log's end is
  // given a moment, then the session ends.
  void containerExited(int code);
  // False when the session has no stream that could carry it (an attach without stdin).
  bool resize(unsigned rows, unsigned cols);
  void cancel();
  // Until its output has ended (kExit sent), at most `timeout`; whether it has.
  bool waitEnded(std::chrono::milliseconds timeout);
  // Attach: until the log is followed from where it was (the helper's
  // marker), so that nothing written from now on is missed.
  bool waitCaughtUp(std::chrono::milliseconds timeout);

 private:
  PodSession(Parts parts, SessionTracker& tracker, OnEnd onEnd);
  void outputLoop();
  void inputLoop();
  void forward(int channel, std::string_view data);
  void sendFrame(uint8_t type, std::string_view data);
  PodStream& inputStream() { return parts_.input ? *parts_.input : *parts_.output; }

  Parts parts_;
  SessionTracker& tracker_;
  OnEnd onEnd_;
  std::string logBuffer_;
  bool connectionBroken_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<int> exitCode_;
  bool ended_ = false, caughtUp_ = false;
  std::atomic<bool> cancelled_{false};
};

}  // namespace berth::runtime::kube
