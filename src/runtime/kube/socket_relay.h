#pragma once
// Berth's end of the Docker sockets its pods serve (pod_builder.h
// BindMount::socket; the sidecar's broker is helper/docker_socket.h). Per
// pod, a control stream through pods/portforward ('C'); for each 'N' the
// broker sends (a client connected in the pod), a data stream ('D') joined
// to a new connection to Berth's own API socket. Nothing listens on the pod
// network and nothing in the cluster can reach Berth: every connection is
// Berth's own, authorised as its other API requests are.
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/kube/port_tunnel.h"

namespace berth::runtime::kube {

class SocketRelays {
 public:
  SocketRelays(PortTunnels& tunnels, SessionTracker& tracker, std::string apiSocket)
      : tunnels_(tunnels), tracker_(tracker), apiSocket_(std::move(apiSocket)) {}
  ~SocketRelays() { stopAll(); }

  // Serves the pod's socket until stop(), reconnecting while `alive` says
  // the pod is there (a no-op while it is served already).
  void serve(const std::string& pod, std::function<bool()> alive);
  void stop(const std::string& pod);
  void stopAll();

 private:
  struct Relay {
    std::mutex mu;
    std::condition_variable wake;
    int control = -1;  // while connected: shut down to stop
    bool stopped = false;
  };
  void run(const std::string& pod, const std::shared_ptr<Relay>& relay, const std::function<bool()>& alive);
  void join(const std::string& pod);  // one data stream, relayed to a new API connection
  static void halt(Relay& relay);

  PortTunnels& tunnels_;
  SessionTracker& tracker_;
  const std::string apiSocket_;
  std::mutex mu_;
  bool closing_ = false;
  std::map<std::string, std::shared_ptr<Relay>> relays_;
};

}  // namespace berth::runtime::kube
