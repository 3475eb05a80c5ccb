#pragma once
// A command in a pod's container (pods/exec), or the container's own
// process (pods/attach), over the Kubernetes streaming WebSocket
// (subprotocol v5.channel.k8s.io where the server has it, else v4: binary
// frames whose first byte is the channel — 0 stdin, 1 stdout, 2 stderr,
// 3 the final Status, 4 resize; v5 adds a client's close of one channel,
// which Berth does not need: stdin's end travels in its own frames).
// Or one TCP connection to a pod's port (pods/portforward, one port per
// stream): channel 0 carries the data both ways, 1 the kubelet's error
// text, and the server opens each with the port number (two bytes).
// v4 cannot end stdin alone: finish() closes the whole stream, which the
// kubelet reads as the end of stdin (and of the session).
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/kube/kube_client.h"

namespace berth::runtime::kube {

struct StreamRequest {
  std::string pod, container;
  std::vector<std::string> command;  // pods/exec; empty: pods/attach
  bool stdin = false, stdout = true, stderr = true, tty = false;
  uint16_t forwardPort = 0;  // pods/portforward to this port: its data is output on channel 1, write() sends
};

// What a stream's upgrade request offers as Sec-WebSocket-Protocol.
std::string offeredProtocols(const StreamRequest& req);

// The query of the request's URL (exposed for tests).
std::string streamTarget(const KubeClient& client, const StreamRequest& req);

class PodStream {
 public:
  using OutputHandler = std::function<void(int channel, std::string_view data)>;

  // Connects and upgrades; the server's refusal (no such pod, not running,
  // forbidden) as its status.
  static absl::StatusOr<std::unique_ptr<PodStream>> open(const KubeClient& client, const StreamRequest& req);
  virtual ~PodStream() = default;

  // Reads until the stream ends, handing stdout (1) and stderr (2) to
  // `onOutput` on the calling thread. The result: the exit code the
  // channel-3 Status stands for; Unavailable when it ended without one
  // (an attach ends so), Cancelled after cancel(). Call once. A port
  // forward ends with 0, or Unavailable with the kubelet's error text.
  virtual absl::StatusOr<int> run(const OutputHandler& onOutput) = 0;

  // From any thread, before or during run(); in order. write() blocks while
  // megabytes wait to be sent, until they are or the stream closes.
  virtual void write(std::string_view stdinData) = 0;
  virtual void resize(unsigned rows, unsigned cols) = 0;
  // Closes the stream once what was written is out.
  virtual void finish() = 0;
  // Ends run() now.
  virtual void cancel() = 0;
};

// One command to its end: output to `onOutput`, the result as run()'s.
// `cancel` ends it from another thread (Cancelled; noticed within 50 ms).
absl::StatusOr<int> execInPod(const KubeClient& client, const StreamRequest& req, const PodStream::OutputHandler& onOutput,
                              const std::atomic<bool>* cancel = nullptr);

// The exit code a v4 Status document stands for: 0 for Success, the
// ExitCode cause of NonZeroExitCode; an error for any other failure.
absl::StatusOr<int> exitCodeFromStatus(std::string_view statusJson);

}  // namespace berth::runtime::kube
