#pragma once
// Published ports of pods, reached from this machine (kubedock's
// --port-forward and --reverse-proxy): each local connection becomes either
// its own pods/portforward stream (works wherever the API server is
// reachable; a container that closes and reopens its port is reached again
// by the next connection, as every connection asks anew) or a TCP connection
// to the pod's IP (needs a route to the pod network; no API server in the path).
#include <cstdint>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/kube/kube_client.h"
#include "runtime/kube/pod_session.h"
#include "util/unique_fd.h"

namespace berth::runtime::kube {

enum class PortAccess { kNone, kPortForward, kReverseProxy };

class PodStream;

class PortTunnels {
 public:
  PortTunnels(const KubeClient& client, SessionTracker& tracker) : client_(client), tracker_(tracker) {}
  ~PortTunnels() { closeAll(); }

  // The near end of a socketpair at once; threads (counted by the tracker)
  // open the pod's stream and copy both ways. The socket closes when the
  // stream cannot be opened or ends; its EOF closes the stream.
  absl::StatusOr<UniqueFd> open(const std::string& pod, uint16_t port);
  // Cancels every tunnel (they end on their own threads).
  void closeAll();

 private:
  void serve(const std::string& pod, uint16_t port, UniqueFd far);

  const KubeClient& client_;
  SessionTracker& tracker_;
  std::mutex mu_;
  bool closing_ = false;
  std::set<PodStream*> live_;
};

// A non-blocking TCP connection to ip:port, under way (the reverse proxy's
// dial: the relay learns whether it connected from its first read or write).
absl::StatusOr<UniqueFd> connectStarted(const std::string& ipv4, uint16_t port);

}  // namespace berth::runtime::kube
