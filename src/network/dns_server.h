#pragma once
// The embedded DNS server of a user-defined network, as dockerd's: containers
// resolve each other's names (and addresses, via PTR) here, and every other
// query is relayed to the host's resolvers. UDP and TCP on one address and
// port, run on a caller-supplied io_context.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace boost::asio {
class io_context;
}

namespace berth::network {

struct LookupResult {
  bool known = false;          // the name belongs to the network (even without IPv4 addresses)
  std::vector<uint32_t> ipv4;  // host byte order, answered in this order
};

// Both are called on the io_context's thread for every query, so they must be
// cheap and must not block (the engine answers them from a map). A name is
// lower-cased without a trailing dot; `client` is the asker's IPv4 address
// (host order; 0 when not IPv4), so that names can depend on who asks.
using Lookup = std::function<LookupResult(std::string_view lowercaseName, uint32_t client)>;
using ReverseLookup = std::function<std::optional<std::string>(uint32_t ipv4HostOrder)>;

struct Resolver {
  Lookup forward;         // may be empty: no local names
  ReverseLookup reverse;  // may be empty: PTR queries are all forwarded
};

struct DnsServerOptions {
  uint32_t ttl = 600;                               // of local answers
  std::chrono::milliseconds upstreamTimeout{2000};  // per upstream
  std::chrono::milliseconds tcpIdleTimeout{10000};  // waiting for a query or writing a reply
  size_t maxTcpConnections = 64;                    // more are closed at once
  size_t maxInFlight = 256;                         // forwards; more get SERVFAIL
};

// Answers, in order:
// - A for a known name: all its addresses (a UDP reply over 512 bytes keeps
//   what fits and sets TC); any other type for a known name: NOERROR, empty;
// - PTR for an address the reverse lookup knows: that name;
// - anything else: the query, byte for byte but with a fresh random id, is
//   sent over UDP to each upstream in turn until one answers within the
//   timeout; the reply goes back with the client's id. No upstream or none
//   answering: SERVFAIL.
// A query that cannot be parsed gets FORMERR (NOTIMP for another opcode) when
// its header is readable and is dropped otherwise; responses are never
// answered.
//
// Thread safety: start(), port() and close() may be called from any thread.
// The io_context is expected to be run by one thread; the server's work is on
// a strand of it, so it can share the io_context with other handlers.
class DnsServer {
 public:
  // Binds UDP and TCP on bindIpv4HostOrder:port; port 0 picks a free port
  // that is free for both. Upstreams are "a.b.c.d" (port 53) or
  // "a.b.c.d:port"; IPv6 addresses (as resolv.conf writes them) are skipped
  // with a warning, anything else is InvalidArgument. The server's own address
  // is dropped from them (it would loop). Unavailable when binding fails.
  static absl::StatusOr<std::unique_ptr<DnsServer>> start(boost::asio::io_context& io, uint32_t bindIpv4HostOrder,
                                                          uint16_t port, Resolver resolver,
                                                          std::vector<std::string> upstreams,
                                                          DnsServerOptions options = {});

  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;
  // close().
  ~DnsServer();

  // The bound port (the chosen one when started with port 0).
  uint16_t port() const { return port_; }

  // Closes the sockets and cancels forwards and connections; idempotent.
  // Called from outside the io_context's thread while it runs, it returns once
  // nothing of the server runs or is queued any more, so the resolver's
  // callbacks are never called after it. Called from a handler on the io
  // thread, or once the io_context is stopped (and its thread has left run()),
  // it cannot wait: it closes everything at once, the callbacks are not called
  // any more either, and the server's handlers are released when they run or
  // when the io_context is destroyed. If the io_context stops while close()
  // waits, close() returns.
  void close();

 private:
  class Impl;

  DnsServer(boost::asio::io_context& io, std::shared_ptr<Impl> impl, uint16_t port);

  boost::asio::io_context& io_;
  std::shared_ptr<Impl> impl_;
  uint16_t port_;
};

}  // namespace berth::network
