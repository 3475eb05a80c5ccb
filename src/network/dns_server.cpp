#include "network/dns_server.h"

#include <sys/random.h>

#include <array>
#include <exception>
#include <future>
#include <random>
#include <unordered_set>
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without including it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "network/dns_message.h"
#include "util/host_sockets.h"
#include "util/log.h"
#include "util/strings.h"

namespace berth::network {
namespace {

namespace net = boost::asio;
using net::ip::tcp;
using net::ip::udp;
using ErrorCode = boost::system::error_code;
using Strand = net::strand<net::io_context::executor_type>;

constexpr auto kAwait = net::use_awaitable;
constexpr size_t kMaxDatagram = 65536;
// Bounds the spin when accept() or recvfrom() keep failing (EMFILE, ENOBUFS).
constexpr auto kErrorBackoff = std::chrono::milliseconds(100);

// Upstream ids are what keeps spoofed replies out, so they come from the
// kernel's CSPRNG.
uint16_t randomId() {
  uint16_t id = 0;
  if (getrandom(&id, sizeof id, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof id)) return id;
  thread_local std::mt19937 fallback{std::random_device{}()};
  return static_cast<uint16_t>(fallback());
}

void setId(std::string& message, uint16_t id) {
  message[0] = static_cast<char>(id >> 8);
  message[1] = static_cast<char>(id & 0xff);
}

std::string endpointText(const udp::endpoint& ep) { return strCat(ep.address().to_string(), ":", ep.port()); }

// nullopt for an IPv6 address, which is skipped: resolv.conf often lists
// one next to IPv4 servers, and that must not cost the network its resolver.
absl::StatusOr<std::optional<udp::endpoint>> parseUpstream(std::string_view text) {
  ErrorCode ec;
  net::ip::make_address_v6(std::string(text), ec);
  if (!ec) return std::nullopt;
  auto [host, portText] = splitOnce(text, ':');
  uint16_t port = 53;
  if (text.find(':') != std::string_view::npos && (!parseInt(portText, port) || port == 0)) {
    return absl::InvalidArgumentError(strCat("dns: bad upstream port: ", text));
  }
  net::ip::address_v4 address = net::ip::make_address_v4(std::string(host), ec);
  if (ec) return absl::InvalidArgumentError(strCat("dns: upstream is not an IPv4 address: ", text));
  return udp::endpoint(address, port);
}

// A query that did not parse: NOTIMP for an opcode we do not serve, FORMERR
// otherwise; empty (drop it) without a readable header or for a response.
std::string malformedReply(std::string_view packet) {
  if (packet.size() >= dns::kHeaderSize && (static_cast<uint8_t>(packet[2]) & 0x78) != 0) {
    return dns::errorReply(packet, dns::kRcodeNotImp);
  }
  return dns::formErr(packet);
}

// One forwarded query. It has its own socket, so each upstream query leaves
// from a fresh random port as well as with a random id.
struct Exchange {
  explicit Exchange(const Strand& strand) : socket(strand), timer(strand) {}
  udp::socket socket;
  net::steady_timer timer;
  uint64_t generation = 0;  // a timer handler armed for an earlier upstream is stale
  bool expired = false;
};

struct TcpConnection {
  TcpConnection(tcp::socket s, const Strand& strand) : socket(std::move(s)), timer(strand) {}
  tcp::socket socket;
  net::steady_timer timer;
  uint64_t generation = 0;
};

}  // namespace

// All state lives here, on one strand. Every coroutine holds a shared_ptr to
// it, so it is destroyed (and `done_` becomes ready) only once the last one
// has finished after shutdown().
class DnsServer::Impl : public std::enable_shared_from_this<DnsServer::Impl> {
 public:
  Impl(net::io_context& io, Resolver resolver, DnsServerOptions options)
      : strand_(net::make_strand(io)),
        udp_(strand_),
        acceptor_(strand_),
        resolver_(std::move(resolver)),
        options_(options) {}

  ~Impl() { destroyed_.set_value(); }

  absl::Status bind(uint32_t ipv4, uint16_t port) {
    net::ip::address_v4 address(ipv4);
    // With port 0 the UDP port the kernel picks may be taken for TCP: try others.
    for (int attempt = 0;; ++attempt) {
      ErrorCode ec;
      udp_.open(udp::v4(), ec);
      if (!ec) udp_.bind(udp::endpoint(address, port), ec);
      if (ec) {
        closeSockets();
        return absl::UnavailableError(strCat("dns: bind udp ", address.to_string(), ":", port, ": ", ec.message()));
      }
      uint16_t bound = udp_.local_endpoint(ec).port();
      if (!ec) acceptor_.open(tcp::v4(), ec);
      if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) acceptor_.bind(tcp::endpoint(address, bound), ec);
      if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
      // Replies go out with a synchronous send that must never block the strand.
      if (!ec) udp_.non_blocking(true, ec);
      if (!ec) {
        local_ = udp::endpoint(address, bound);
        return absl::OkStatus();
      }
      closeSockets();
      if (port != 0 || attempt >= 16) {
        return absl::UnavailableError(strCat("dns: bind tcp ", address.to_string(), ":", bound, ": ", ec.message()));
      }
    }
  }

  uint16_t port() const { return local_.port(); }

  void setUpstreams(std::vector<udp::endpoint> upstreams) {
    for (const udp::endpoint& up : upstreams) {
      bool self = up == local_ ||
                  (local_.address().is_unspecified() && up.port() == local_.port() && up.address().is_loopback());
      if (self) {
        log::warn("dns: ignoring upstream that is this server", {{"upstream", endpointText(up)}});
        continue;
      }
      upstreams_.push_back(up);
    }
  }

  void launch() {
    net::co_spawn(strand_, udpLoop(shared_from_this()), net::detached);
    net::co_spawn(strand_, acceptLoop(shared_from_this()), net::detached);
  }

  // Ready once the Impl is destroyed.
  std::future<void> doneFuture() { return destroyed_.get_future(); }

  const Strand& strand() const { return strand_; }

  // On the strand (or with the io_context no longer running). Pending
  // operations complete with operation_aborted, and every coroutine checks
  // closed_ after each suspension before it touches anything else.
  void shutdown() {
    if (closed_) return;
    closed_ = true;
    closeSockets();
    ErrorCode ignored;
    for (Exchange* x : exchanges_) {
      x->timer.cancel();
      x->socket.close(ignored);
    }
    for (TcpConnection* c : connections_) {
      c->timer.cancel();
      c->socket.close(ignored);
    }
  }

 private:
  void closeSockets() {
    ErrorCode ignored;
    udp_.close(ignored);
    acceptor_.close(ignored);
  }

  net::awaitable<void> pause(std::chrono::milliseconds d) {
    net::steady_timer timer(strand_);
    timer.expires_after(d);
    ErrorCode ec;
    co_await timer.async_wait(net::redirect_error(kAwait, ec));
  }

  // --- UDP

  net::awaitable<void> udpLoop([[maybe_unused]] std::shared_ptr<Impl> keepAlive) {
    std::vector<char> buffer(kMaxDatagram);
    udp::endpoint client;
    ErrorCode ec;
    while (!closed_) {
      size_t n = co_await udp_.async_receive_from(net::buffer(buffer), client, net::redirect_error(kAwait, ec));
      if (closed_) break;
      if (ec) {
        log::warn("dns: udp receive failed", {{"error", ec.message()}});
        co_await pause(kErrorBackoff);
        continue;
      }
      onUdpQuery(std::string_view(buffer.data(), n), client);
    }
  }

  void onUdpQuery(std::string_view packet, const udp::endpoint& client) {
    absl::StatusOr<dns::Query> query = dns::parseQuery(packet);
    if (!query.ok()) {
      sendUdp(malformedReply(packet), client);
      return;
    }
    if (std::optional<std::string> local = answerLocally(*query, ipv4Of(client.address()))) {
      sendUdp(dns::truncateTo(std::move(*local), dns::kMaxUdpPayload), client);
      return;
    }
    if (upstreams_.empty() || !acquireForward()) {
      sendUdp(dns::answerRcode(*query, dns::kRcodeServFail), client);
      return;
    }
    net::co_spawn(strand_, forwardUdp(shared_from_this(), std::move(*query), client), net::detached);
  }

  net::awaitable<void> forwardUdp([[maybe_unused]] std::shared_ptr<Impl> keepAlive, dns::Query query,
                                  udp::endpoint client) {
    ForwardSlot slot(*this);
    std::string reply = co_await forward(query);
    if (!closed_) sendUdp(reply, client);
  }

  // Non-blocking: a reply that does not fit in the socket buffer is dropped,
  // as the network may drop it anyway; the client retries.
  void sendUdp(const std::string& reply, const udp::endpoint& client) {
    if (reply.empty() || closed_) return;
    ErrorCode ec;
    udp_.send_to(net::buffer(reply), client, 0, ec);
    if (ec) log::debug("dns: udp reply dropped", {{"client", endpointText(client)}, {"error", ec.message()}});
  }

  // --- TCP

  net::awaitable<void> acceptLoop([[maybe_unused]] std::shared_ptr<Impl> keepAlive) {
    ErrorCode ec;
    while (!closed_) {
      tcp::socket socket(strand_);
      co_await acceptor_.async_accept(socket, net::redirect_error(kAwait, ec));
      if (closed_) break;
      if (ec) {
        log::warn("dns: tcp accept failed", {{"error", ec.message()}});
        co_await pause(kErrorBackoff);
        continue;
      }
      if (tcpCount_ >= options_.maxTcpConnections) {
        socket.close(ec);  // the client falls back to another server or retries
        continue;
      }
      ++tcpCount_;
      auto connection = std::make_shared<TcpConnection>(std::move(socket), strand_);
      net::co_spawn(strand_, tcpSession(shared_from_this(), std::move(connection)), net::detached);
    }
  }

  // RFC 1035 4.2.2: each message has a two-byte length prefix; queries are
  // answered one after another until the client closes or goes idle.
  net::awaitable<void> tcpSession([[maybe_unused]] std::shared_ptr<Impl> keepAlive,
                                  std::shared_ptr<TcpConnection> conn) {
    connections_.insert(conn.get());
    struct Cleanup {
      Impl& impl;
      TcpConnection& conn;
      ~Cleanup() {
        impl.connections_.erase(&conn);
        --impl.tcpCount_;
        disarm(conn);
        ErrorCode ignored;
        conn.socket.close(ignored);
      }
    } cleanup{*this, *conn};

    ErrorCode ec;
    std::array<uint8_t, 2> prefix{};
    std::string packet;
    while (!closed_) {
      arm(conn);
      co_await net::async_read(conn->socket, net::buffer(prefix), net::redirect_error(kAwait, ec));
      if (ec || closed_) break;
      packet.assign(static_cast<size_t>(prefix[0]) << 8 | prefix[1], '\0');
      co_await net::async_read(conn->socket, net::buffer(packet), net::redirect_error(kAwait, ec));
      if (ec || closed_) break;
      disarm(*conn);  // a forward has its own timeout
      ErrorCode peerEc;
      tcp::endpoint peer = conn->socket.remote_endpoint(peerEc);
      std::string reply = co_await respondTcp(packet, peerEc ? 0 : ipv4Of(peer.address()));
      // Nothing sensible can follow a query whose header is unreadable.
      if (reply.empty() || closed_) break;
      std::string framed;
      framed.reserve(2 + reply.size());
      framed.push_back(static_cast<char>(reply.size() >> 8));
      framed.push_back(static_cast<char>(reply.size() & 0xff));
      framed += reply;
      arm(conn);
      co_await net::async_write(conn->socket, net::buffer(framed), net::redirect_error(kAwait, ec));
      if (ec) break;
    }
  }

  net::awaitable<std::string> respondTcp(const std::string& packet, uint32_t client) {
    absl::StatusOr<dns::Query> query = dns::parseQuery(packet);
    if (!query.ok()) co_return malformedReply(packet);
    if (std::optional<std::string> local = answerLocally(*query, client)) co_return std::move(*local);
    if (upstreams_.empty() || !acquireForward()) co_return dns::answerRcode(*query, dns::kRcodeServFail);
    ForwardSlot slot(*this);
    co_return co_await forward(*query);
  }

  // The idle timer closes the connection, which fails the pending read or write.
  void arm(const std::shared_ptr<TcpConnection>& conn) {
    uint64_t generation = ++conn->generation;
    conn->timer.expires_after(options_.tcpIdleTimeout);
    conn->timer.async_wait([conn, generation](const ErrorCode& ec) {
      if (ec || conn->generation != generation) return;
      ErrorCode ignored;
      conn->socket.close(ignored);
    });
  }

  static void disarm(TcpConnection& conn) {
    ++conn.generation;
    conn.timer.cancel();
  }

  // --- Answers

  // The local answer, or nullopt when the query is for upstream. The callbacks
  // are the engine's: an exception from one is a SERVFAIL, not a dead server.
  static uint32_t ipv4Of(const net::ip::address& a) { return a.is_v4() ? a.to_v4().to_uint() : 0; }

  std::optional<std::string> answerLocally(const dns::Query& q, uint32_t client) {
    if (q.qclass != dns::kClassIN) return std::nullopt;
    try {
      if (q.type == dns::kTypePTR && resolver_.reverse) {
        if (std::optional<uint32_t> ip = dns::reverseName(q.name)) {
          if (std::optional<std::string> target = resolver_.reverse(*ip)) {
            return dns::answerPtr(q, *target, options_.ttl);
          }
        }
      }
      if (!resolver_.forward) return std::nullopt;
      LookupResult found = resolver_.forward(q.name, client);
      if (!found.known) return std::nullopt;
      if (q.type == dns::kTypeA) return dns::answerA(q, found.ipv4, options_.ttl);
      return dns::answerRcode(q, dns::kRcodeNoError);
    } catch (const std::exception& e) {
      log::error("dns: lookup failed", {{"name", q.name}, {"error", e.what()}});
      return dns::answerRcode(q, dns::kRcodeServFail);
    }
  }

  // --- Forwarding

  bool acquireForward() {
    if (inFlight_ >= options_.maxInFlight) return false;
    ++inFlight_;
    return true;
  }

  struct ForwardSlot {
    explicit ForwardSlot(Impl& impl) : impl(impl) {}
    ~ForwardSlot() { --impl.inFlight_; }
    ForwardSlot(const ForwardSlot&) = delete;
    ForwardSlot& operator=(const ForwardSlot&) = delete;
    Impl& impl;
  };

  // The client's reply: the first upstream's, with the client's id, or
  // SERVFAIL. Empty when the server closed meanwhile.
  net::awaitable<std::string> forward(const dns::Query& q) {
    auto x = std::make_shared<Exchange>(strand_);
    exchanges_.insert(x.get());
    struct Unregister {
      Impl& impl;
      Exchange& x;
      ~Unregister() {
        impl.exchanges_.erase(&x);
        ++x.generation;
        x.timer.cancel();
      }
    } unregister{*this, *x};

    // The host's resolvers are asked from the host's network (a rootless
    // daemon's own namespace cannot reach a resolver on the host's loopback).
    ErrorCode ec;
    absl::StatusOr<UniqueFd> fd = hostSocket(AF_INET, SOCK_DGRAM);
    if (fd.ok()) x->socket.assign(udp::v4(), fd->release(), ec);
    if (!fd.ok() || ec) {
      log::warn("dns: cannot open upstream socket",
                {{"error", fd.ok() ? ec.message() : std::string(fd.status().message())}});
      co_return dns::answerRcode(q, dns::kRcodeServFail);
    }
    std::string request = q.raw;
    std::vector<char> buffer(kMaxDatagram);
    for (const udp::endpoint& upstream : upstreams_) {
      if (closed_) co_return std::string();
      uint16_t id = randomId();
      setId(request, id);
      co_await x->socket.async_send_to(net::buffer(request), upstream, net::redirect_error(kAwait, ec));
      if (closed_) co_return std::string();
      if (ec) {
        log::debug("dns: upstream send failed", {{"upstream", endpointText(upstream)}, {"error", ec.message()}});
        continue;
      }
      uint64_t generation = ++x->generation;
      x->expired = false;
      x->timer.expires_after(options_.upstreamTimeout);
      x->timer.async_wait([x, generation](const ErrorCode& e) {
        if (e || x->generation != generation) return;
        x->expired = true;
        ErrorCode ignored;
        x->socket.cancel(ignored);
      });
      for (;;) {
        udp::endpoint from;
        size_t n = co_await x->socket.async_receive_from(net::buffer(buffer), from, net::redirect_error(kAwait, ec));
        if (closed_) co_return std::string();
        if (ec) break;
        // Only a response with our id from the address we asked is taken;
        // anything else is stray or spoofed and ignored.
        bool match = from == upstream && n >= dns::kHeaderSize && (static_cast<uint8_t>(buffer[2]) & 0x80) != 0 &&
                     static_cast<uint8_t>(buffer[0]) == (id >> 8) && static_cast<uint8_t>(buffer[1]) == (id & 0xff);
        if (match) {
          std::string reply(buffer.data(), n);
          setId(reply, q.id);
          co_return reply;
        }
        if (x->expired) break;
      }
      ++x->generation;
      x->timer.cancel();
      log::debug("dns: upstream did not answer", {{"upstream", endpointText(upstream)}, {"name", q.name}});
    }
    co_return dns::answerRcode(q, dns::kRcodeServFail);
  }

  Strand strand_;
  udp::socket udp_;
  tcp::acceptor acceptor_;
  udp::endpoint local_;
  Resolver resolver_;
  DnsServerOptions options_;
  std::vector<udp::endpoint> upstreams_;

  bool closed_ = false;
  size_t inFlight_ = 0;
  size_t tcpCount_ = 0;
  std::unordered_set<Exchange*> exchanges_;
  std::unordered_set<TcpConnection*> connections_;
  std::promise<void> destroyed_;
};

absl::StatusOr<std::unique_ptr<DnsServer>> DnsServer::start(net::io_context& io, uint32_t bindIpv4HostOrder,
                                                            uint16_t port, Resolver resolver,
                                                            std::vector<std::string> upstreams,
                                                            DnsServerOptions options) {
  std::vector<udp::endpoint> parsed;
  for (const std::string& text : upstreams) {
    absl::StatusOr<std::optional<udp::endpoint>> upstream = parseUpstream(text);
    if (!upstream.ok()) return upstream.status();
    if (!*upstream) {
      log::warn("dns: ignoring IPv6 upstream", {{"upstream", text}});
      continue;
    }
    parsed.push_back(**upstream);
  }
  auto impl = std::make_shared<Impl>(io, std::move(resolver), options);
  if (absl::Status status = impl->bind(bindIpv4HostOrder, port); !status.ok()) return status;
  impl->setUpstreams(std::move(parsed));
  impl->launch();
  uint16_t bound = impl->port();
  return std::unique_ptr<DnsServer>(new DnsServer(io, std::move(impl), bound));
}

DnsServer::DnsServer(net::io_context& io, std::shared_ptr<Impl> impl, uint16_t port)
    : io_(io), impl_(std::move(impl)), port_(port) {}

DnsServer::~DnsServer() { close(); }

void DnsServer::close() {
  std::shared_ptr<Impl> impl = std::move(impl_);
  if (!impl) return;
  // A handler of this io_context waiting for other handlers would deadlock.
  if (io_.get_executor().running_in_this_thread() || io_.stopped()) {
    impl->shutdown();
    return;
  }
  std::future<void> done = impl->doneFuture();
  net::post(impl->strand(), [impl] { impl->shutdown(); });
  impl.reset();
  while (done.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    // Nothing would ever run the remaining handlers.
    if (io_.stopped()) return;
  }
}

}  // namespace berth::network
