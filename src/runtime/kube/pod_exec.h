#pragma once
// A command in a pod's container over the Kubernetes exec WebSocket
// (subprotocol v4.channel.k8s.io: binary frames whose first byte is the
// channel — 0 stdin, 1 stdout, 2 stderr, 3 the final Status, 4 resize).
// Blocking; run it on a thread of its own when it streams.
#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/kube/kube_client.h"

namespace berth::runtime::kube {

struct ExecRequest {
  std::string pod, container;
  std::vector<std::string> command;
  std::string input;  // sent on stdin first, when non-empty
  bool tty = false;
};

// Output arrives on `onOutput(channel, bytes)` (1 stdout, 2 stderr). The
// result is the command's exit code (the Status on channel 3). `cancel`
// ends it from another thread (Cancelled).
absl::StatusOr<int> execInPod(const KubeClient& client, const ExecRequest& req,
                              const std::function<void(int channel, std::string_view data)>& onOutput,
                              const std::atomic<bool>* cancel = nullptr);

// The exit code a v4 Status document stands for: 0 for Success, the
// ExitCode cause of NonZeroExitCode; an error for any other failure.
absl::StatusOr<int> exitCodeFromStatus(std::string_view statusJson);

}  // namespace berth::runtime::kube
