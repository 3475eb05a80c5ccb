#pragma once
// Published ports (-p), in-process: what dockerd runs as docker-proxy and
// RootlessKit as its builtin port driver. Binding is separate from relaying so
// a container start fails at once on a taken port, and so listeners bound
// elsewhere (rootless) can be served too.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "absl/status/statusor.h"
#include "network/ipam.h"
#include "util/unique_fd.h"

namespace berth::network {

struct PortSpec {
  std::string proto;           // "tcp" or "udp"
  std::string hostIp;          // "" = 0.0.0.0 and :: (when the host has IPv6); "0.0.0.0", "::" or a literal
  uint16_t hostPort = 0;       // 0 = a free one from /proc/sys/net/ipv4/ip_local_port_range
  uint32_t containerIpv4 = 0;  // host byte order
  uint16_t containerPort = 0;
  // Connect to the container from the client's own IPv4 address (IP_TRANSPARENT),
  // so it sees who connected. The caller routes the container's replies from
  // containerIpv4:containerPort back here (a local-delivery policy rule); a
  // client on loopback, over IPv6 or on a bridged subnet (setBridgedSubnets)
  // is still relayed from this host's address.
  bool keepClientAddress = false;
};

// TCP only: when given to add(), each connection is relayed to the stream
// socket this returns (already connected; e.g. one end of a socketpair whose
// other end a tunnel serves) instead of to containerIpv4. Called on the io
// thread, so it must not block; an error closes the client's connection.
using Dialer = std::function<absl::StatusOr<UniqueFd>()>;

// What was really bound, for NetworkSettings.Ports ("0.0.0.0"/"::" for an empty hostIp).
struct BoundPort {
  std::string hostIp;
  uint16_t hostPort = 0;
};

// UDP has no close: a client's session (and its upstream socket) ends after
// this long without a datagram either way. dockerd's proxy uses 90 s.
inline constexpr std::chrono::seconds kUdpSessionIdleTimeout{30};
// Datagrams from further clients are dropped while a mapping has this many sessions.
inline constexpr size_t kMaxUdpSessionsPerMapping = 1024;

// Opens, binds (and for TCP, listens on) the host side of `spec`, so the port
// is held when this returns. An empty hostIp binds 0.0.0.0 and :: (IPV6_V6ONLY,
// skipped when the host has no IPv6) on the same port. hostPort 0 takes the
// next port free on every address from the ephemeral range, sequentially from
// a process-wide cursor as dockerd does. On success appends one fd per
// BoundPort (same order) to `out`; on failure `out` is unchanged. A taken port
// is AlreadyExists "Bind for 0.0.0.0:8080 failed: port is already allocated";
// no free port in the range is ResourceExhausted. Thread-safe.
absl::StatusOr<std::vector<BoundPort>> bindListeners(const PortSpec& spec, std::vector<UniqueFd>& out);

// Creates the socket the forwarder connects to the container from; choosing it
// chooses the network namespace. `type` is SOCK_STREAM or SOCK_DGRAM; the
// socket should be close-on-exec (the forwarder makes it non-blocking).
using SocketFactory = std::function<absl::StatusOr<UniqueFd>(int domain, int type)>;

// The default factory: a socket in the caller's current network namespace.
absl::StatusOr<UniqueFd> currentNetnsSocket(int domain, int type);

namespace port_forwarder_internal {
class Mapping;
// What every mapping of one forwarder shares.
struct Shared {
  SocketFactory factory;
  std::mutex mu;
  std::vector<Ipv4Prefix> bridgedSubnets;  // guarded by mu
};
}  // namespace port_forwarder_internal

// Serves mappings on a caller's io_context, which must run on one thread and
// outlive the forwarder. add() and remove() may be called from any thread;
// from outside the io thread, remove() and the destructor need that io_context
// running (or stopped) to return.
class PortForwarder {
 public:
  using Handle = uint64_t;

  explicit PortForwarder(boost::asio::io_context& ioc, SocketFactory factory = {});
  ~PortForwarder();  // removes every mapping
  PortForwarder(const PortForwarder&) = delete;
  PortForwarder& operator=(const PortForwarder&) = delete;

  // Starts relaying connections/datagrams arriving on `listeners` (bound
  // sockets of spec.proto, e.g. from bindListeners; a TCP one not yet
  // listening is put to listen) to containerIpv4:containerPort. Takes the fds
  // even on failure (they are closed).
  absl::StatusOr<Handle> add(std::vector<UniqueFd> listeners, const PortSpec& spec, Dialer dial = {});

  // Stops accepting, closes the listeners and every connection and UDP session
  // of the mapping. On return no handler of it does anything any more and the
  // port can be bound again. Unknown handles are ignored.
  void remove(Handle handle);

  // The local networks' subnets. A client there is relayed from this host's
  // address even with keepClientAddress: a container answers a neighbour on
  // its bridge directly, not through here. Any thread; the next connection
  // sees them.
  void setBridgedSubnets(std::vector<Ipv4Prefix> subnets);

  // Relays through plain buffers instead of splice() in mappings added after
  // this call, so tests cover the path used where splice is unavailable.
  void disableSpliceForTest() { splice_ = false; }

 private:
  // Runs `fn` on the io thread and waits for it (inline when already there or
  // when the io_context has stopped).
  void runOnIo(std::function<void()> fn);

  boost::asio::io_context& ioc_;
  std::shared_ptr<port_forwarder_internal::Shared> shared_;
  bool splice_ = true;
  std::mutex mu_;
  Handle nextHandle_ = 1;
  std::unordered_map<Handle, std::shared_ptr<port_forwarder_internal::Mapping>> mappings_;
};

}  // namespace berth::network
