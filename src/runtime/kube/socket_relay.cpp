#include "runtime/kube/socket_relay.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "runtime/kube/pod_builder.h"
#include "runtime/kube/tunnel_relay.h"
#include "util/log.h"
#include "util/strings.h"

namespace berth::runtime::kube {

void SocketRelays::serve(const std::string& pod, std::function<bool()> alive) {
  auto relay = std::make_shared<Relay>();
  {
    std::lock_guard lock(mu_);
    if (closing_ || relays_.contains(pod)) return;
    relays_[pod] = relay;
  }
  tracker_.add();
  std::thread([this, pod, relay, alive = std::move(alive)] {
    run(pod, relay, alive);
    {
      std::lock_guard lock(mu_);
      if (auto it = relays_.find(pod); it != relays_.end() && it->second == relay) relays_.erase(it);
    }
    tracker_.done();
  }).detach();
}

void SocketRelays::halt(Relay& relay) {
  std::lock_guard lock(relay.mu);
  relay.stopped = true;
  if (relay.control >= 0) ::shutdown(relay.control, SHUT_RDWR);
  relay.wake.notify_all();
}

void SocketRelays::stop(const std::string& pod) {
  std::shared_ptr<Relay> relay;
  {
    std::lock_guard lock(mu_);
    auto it = relays_.find(pod);
    if (it == relays_.end()) return;
    relay = it->second;
    relays_.erase(it);
  }
  halt(*relay);
}

void SocketRelays::stopAll() {
  std::map<std::string, std::shared_ptr<Relay>> all;
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    all.swap(relays_);
  }
  for (auto& [pod, relay] : all) halt(*relay);
}

void SocketRelays::run(const std::string& pod, const std::shared_ptr<Relay>& relay, const std::function<bool()>& alive) {
  for (;;) {
    absl::StatusOr<UniqueFd> control = tunnels_.open(pod, kSocketTunnelPort);
    if (control.ok() && writeAll(control->get(), "C").ok()) {
      {
        std::lock_guard lock(relay->mu);
        if (relay->stopped) return;
        relay->control = control->get();
      }
      char asks[256];
      for (ssize_t n; (n = ::read(control->get(), asks, sizeof asks)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        for (ssize_t i = 0; i < n; ++i) {
          if (asks[i] != 'N') continue;
          tracker_.add();
          std::thread([this, pod] {
            join(pod);
            tracker_.done();
          }).detach();
        }
      }
      std::lock_guard lock(relay->mu);
      relay->control = -1;
    }
    // The sidecar is not listening yet, or the stream broke: again, while the pod is there.
    std::unique_lock lock(relay->mu);
    if (relay->wake.wait_for(lock, std::chrono::milliseconds(500), [&] { return relay->stopped; })) return;
    lock.unlock();
    if (!alive()) return;
  }
}

void SocketRelays::join(const std::string& pod) {
  absl::StatusOr<UniqueFd> data = tunnels_.open(pod, kSocketTunnelPort);
  if (!data.ok() || !writeAll(data->get(), "D").ok()) return;
  UniqueFd api(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  apiSocket_.copy(addr.sun_path, sizeof addr.sun_path - 1);
  if (::connect(api.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    log::warn("a pod's Docker socket could not reach Berth's API", {{"pod", pod}, {"socket", apiSocket_},
                                                                   {"error", std::strerror(errno)}});
    return;
  }
  relayTunnel(api.get(), data->get(), false);
}

}  // namespace berth::runtime::kube
