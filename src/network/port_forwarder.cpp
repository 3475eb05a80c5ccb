#include "network/port_forwarder.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "util/host_sockets.h"
#include "util/log.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::network {

namespace net = boost::asio;
using boost::system::error_code;
using net::ip::tcp;
using net::ip::udp;

namespace {

constexpr size_t kChunk = 64 * 1024;  // one pipe's default capacity; the buffer size without splice
constexpr size_t kUdpBuffer = 64 * 1024;  // the largest datagram
// A relay direction yields after this many steps so one fast connection cannot starve the others.
constexpr int kPumpStepsPerTurn = 32;
// After an accept/receive error other than a closed socket (EMFILE, ENOBUFS…), wait before retrying.
constexpr auto kListenerRetryDelay = std::chrono::milliseconds(50);
// dockerd's fallback when the kernel's range cannot be read.
constexpr uint32_t kFallbackPortLow = 49153;
constexpr uint32_t kFallbackPortHigh = 65535;

// Binds an upstream socket to the client's own address and port so the
// container sees them: IP_TRANSPARENT lets a socket claim an address that is
// not this host's. Only an IPv4 client off loopback can be answered that way.
// Best effort: on false the socket is as it was and connect() picks the source.
bool claimClientAddress(int fd, const net::ip::address& client, uint16_t port,
                        port_forwarder_internal::Shared& shared) {
  net::ip::address_v4 v4;
  if (client.is_v4()) {
    v4 = client.to_v4();
  } else if (client.is_v6() && client.to_v6().is_v4_mapped()) {
    v4 = net::ip::make_address_v4(net::ip::v4_mapped, client.to_v6());
  } else {
    return false;
  }
  if (v4.is_loopback() || v4.is_unspecified()) return false;
  {
    std::lock_guard lock(shared.mu);
    for (const Ipv4Prefix& p : shared.bridgedSubnets) {
      if (p.contains(v4.to_uint())) return false;
    }
  }
  int on = 1, off = 0;
  if (::setsockopt(fd, SOL_IP, IP_TRANSPARENT, &on, sizeof on) != 0) {
    log::debug("port forward: cannot keep the client's address", {{"error", strerror(errno)}});
    return false;
  }
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // an earlier connection's TIME_WAIT
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(v4.to_uint());
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    log::debug("port forward: cannot keep the client's address", {{"error", strerror(errno)}});
    ::setsockopt(fd, SOL_IP, IP_TRANSPARENT, &off, sizeof off);
    return false;
  }
  return true;
}

// ---- Binding -----------------------------------------------------------------

struct HostAddr {
  sockaddr_storage sa{};
  socklen_t len = 0;
  int family = AF_INET;
  std::string text;       // normalised, for BoundPort
  bool optional = false;  // the :: of an empty hostIp: skipped without IPv6
};

HostAddr anyAddr(int family) {
  HostAddr a;
  a.family = family;
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&a.sa);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_ANY);
    a.len = sizeof(sockaddr_in);
    a.text = "0.0.0.0";
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a.sa);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = in6addr_any;
    a.len = sizeof(sockaddr_in6);
    a.text = "::";
  }
  return a;
}

absl::StatusOr<std::vector<HostAddr>> hostAddrs(std::string_view hostIp) {
  std::vector<HostAddr> out;
  if (hostIp.empty()) {
    out.push_back(anyAddr(AF_INET));
    out.push_back(anyAddr(AF_INET6));
    out.back().optional = true;
    return out;
  }
  std::string ip(hostIp);
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  HostAddr a;
  char text[INET6_ADDRSTRLEN] = {};
  auto* sin = reinterpret_cast<sockaddr_in*>(&a.sa);
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a.sa);
  if (::inet_pton(AF_INET, ip.c_str(), &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    a.family = AF_INET;
    a.len = sizeof(sockaddr_in);
    ::inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
  } else if (::inet_pton(AF_INET6, ip.c_str(), &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    a.family = AF_INET6;
    a.len = sizeof(sockaddr_in6);
    ::inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
  } else {
    return absl::InvalidArgumentError(strCat("invalid host IP address: ", hostIp));
  }
  a.text = text;
  out.push_back(std::move(a));
  return out;
}

void setPort(HostAddr& a, uint16_t port) {
  if (a.family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&a.sa)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&a.sa)->sin6_port = htons(port);
  }
}

struct BindOne {
  UniqueFd fd;
  int err = 0;
  const char* step = "";
};

BindOne bindOne(HostAddr a, uint16_t port, bool isTcp) {
  BindOne r;
  // On the host's network even when the daemon has a namespace of its own (rootless).
  absl::StatusOr<UniqueFd> made = hostSocket(a.family, (isTcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK);
  if (made.ok()) r.fd = std::move(*made);
  auto fail = [&](const char* step) {
    r.err = errno;
    r.step = step;
    r.fd.reset();
    return std::move(r);
  };
  if (!r.fd.valid()) return fail("socket");
  int one = 1;
  // TCP only: lets a removed mapping's port be bound again while its connections sit in TIME_WAIT.
  // (On UDP it would let two sockets share the port.)
  if (isTcp && ::setsockopt(r.fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) return fail("setsockopt");
  // Each family gets its own socket, as dockerd does; a dual-stack :: would collide with 0.0.0.0.
  if (a.family == AF_INET6 && ::setsockopt(r.fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) {
    return fail("setsockopt");
  }
  setPort(a, port);
  if (::bind(r.fd.get(), reinterpret_cast<const sockaddr*>(&a.sa), a.len) < 0) return fail("bind");
  // Listening now holds the port: SO_REUSEADDR sockets may share a port until one listens.
  if (isTcp && ::listen(r.fd.get(), SOMAXCONN) < 0) return fail("listen");
  return r;
}

enum class Outcome { Bound, InUse, Failed };

// Binds every address at `port`; keeps nothing unless all succeed.
Outcome bindAllAt(const std::vector<HostAddr>& addrs, uint16_t port, bool isTcp, std::vector<UniqueFd>& fds,
                  std::vector<BoundPort>& ports, absl::Status& err) {
  std::vector<UniqueFd> gotFds;
  std::vector<BoundPort> gotPorts;
  for (const HostAddr& a : addrs) {
    BindOne r = bindOne(a, port, isTcp);
    if (r.err == 0) {
      gotFds.push_back(std::move(r.fd));
      gotPorts.push_back({a.text, port});
      continue;
    }
    if (r.err == EADDRINUSE) return Outcome::InUse;
    bool noIpv6 = r.err == EAFNOSUPPORT || r.err == EPROTONOSUPPORT || r.err == EADDRNOTAVAIL;
    if (a.optional && noIpv6) continue;
    err = errnoStatus(r.err, strCat(r.step, " ", a.family == AF_INET6 ? "[" : "", a.text,
                                    a.family == AF_INET6 ? "]" : "", ":", port));
    return Outcome::Failed;
  }
  for (auto& fd : gotFds) fds.push_back(std::move(fd));
  for (auto& p : gotPorts) ports.push_back(std::move(p));
  return Outcome::Bound;
}

std::pair<uint32_t, uint32_t> ephemeralRange() {
  std::string text = readFileOrEmpty("/proc/sys/net/ipv4/ip_local_port_range");
  auto parts = splitAny(text, " \t\n", true);
  uint32_t lo = 0;
  uint32_t hi = 0;
  if (parts.size() == 2 && parseInt(parts[0], lo) && parseInt(parts[1], hi) && lo >= 1 && lo <= hi && hi <= 65535) {
    return {lo, hi};
  }
  return {kFallbackPortLow, kFallbackPortHigh};
}

// dockerd hands out ephemeral ports in order, wrapping, so a port just released
// is not reused at once. Held across the whole search so concurrent binds do not race.
std::mutex gPortCursorMu;
uint32_t gNextPort = 0;  // 0: the start of the range

absl::Status allocatedError(const PortSpec& spec, uint16_t port) {
  return absl::AlreadyExistsError(strCat("Bind for ", spec.hostIp.empty() ? std::string_view("0.0.0.0") : spec.hostIp,
                                         ":", port, " failed: port is already allocated"));
}

// ---- Relaying ------------------------------------------------------------------

std::string errnoText(int err) { return std::strerror(err); }

template <class Endpoint>
std::string endpointText(const Endpoint& ep) {
  if (ep.address().is_v6()) return strCat("[", ep.address().to_string(), "]:", ep.port());
  return strCat(ep.address().to_string(), ":", ep.port());
}

// splice() into a socket sends without MSG_NOSIGNAL, so a peer that went away
// raises SIGPIPE, which kills a process that keeps the default disposition
// (the daemon does, for its children's sake). Block it around the call and
// take back a SIGPIPE this call raised.
ssize_t spliceToSocket(int pipeR, int sock, size_t len) {
  sigset_t pipeSet;
  sigset_t old;
  sigemptyset(&pipeSet);
  sigaddset(&pipeSet, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipeSet, &old);
  bool pendingBefore = false;
  if (sigismember(&old, SIGPIPE) == 1) {
    sigset_t pending;
    sigpending(&pending);
    pendingBefore = sigismember(&pending, SIGPIPE) == 1;
  }
  ssize_t n = ::splice(pipeR, nullptr, sock, nullptr, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  int err = errno;
  if (n < 0 && err == EPIPE && !pendingBefore) {
    timespec zero{};
    while (sigtimedwait(&pipeSet, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return n;
}

}  // namespace

namespace port_forwarder_internal {

class TcpConn;
class UdpSession;

struct TcpListener {
  explicit TcpListener(net::io_context& ioc) : acceptor(ioc), retry(ioc) {}
  tcp::acceptor acceptor;
  net::steady_timer retry;
};

struct UdpListener {
  explicit UdpListener(net::io_context& ioc) : sock(ioc), retry(ioc), buf(kUdpBuffer) {}
  udp::socket sock;
  net::steady_timer retry;
  std::vector<char> buf;
  udp::endpoint from;
};

// One mapping: its listeners, connections and UDP sessions. Everything below
// runs on the io thread, except construction and addListener (before start).
class Mapping : public std::enable_shared_from_this<Mapping> {
 public:
  Mapping(net::io_context& ioc, const PortSpec& spec, std::shared_ptr<Shared> shared, bool useSplice,
          Dialer dial)
      : ioc(ioc),
        spec(spec),
        dial(std::move(dial)),
        shared(std::move(shared)),
        useSplice(useSplice),
        tcpTarget(net::ip::address_v4(spec.containerIpv4), spec.containerPort),
        udpTarget(net::ip::address_v4(spec.containerIpv4), spec.containerPort),
        targetText(endpointText(tcpTarget)) {}

  absl::Status addListener(UniqueFd fd);
  std::string listenText() const;  // the listeners' addresses, for logs
  void start();
  void close();

  void acceptNext(size_t i);
  void receiveNext(size_t i);
  void onDatagram(size_t i, size_t n);

  net::io_context& ioc;
  const PortSpec spec;
  const Dialer dial;
  const std::shared_ptr<Shared> shared;
  const bool useSplice;  // false only in tests
  const tcp::endpoint tcpTarget;
  const udp::endpoint udpTarget;
  const std::string targetText;
  bool closed = false;
  std::vector<std::unique_ptr<TcpListener>> tcpListeners;
  std::vector<std::unique_ptr<UdpListener>> udpListeners;
  // Owned here so remove() can close them; each also keeps the mapping alive
  // until its last handler has run. Both drop their entry when they close.
  std::unordered_map<TcpConn*, std::shared_ptr<TcpConn>> conns;
  std::map<std::pair<size_t, udp::endpoint>, std::shared_ptr<UdpSession>> sessions;
};

// One accepted connection and its upstream connection to the container. Each
// direction is a pump: read from one socket into a pipe (or buffer), write it
// out to the other; EOF becomes shutdown(SHUT_WR) on the other side.
class TcpConn : public std::enable_shared_from_this<TcpConn> {
 public:
  TcpConn(std::shared_ptr<Mapping> m, tcp::socket client, std::optional<tcp::endpoint> peer)
      : m_(std::move(m)),
        client_(std::move(client)),
        upstream_(m_->ioc),
        peer_(peer),
        clientText_(peer ? endpointText(*peer) : std::string("?")) {
    up_.src = &client_;
    up_.dst = &upstream_;
    up_.name = "client->container";
    down_.src = &upstream_;
    down_.dst = &client_;
    down_.name = "container->client";
  }

  void start() {
    const bool dialed = static_cast<bool>(m_->dial);
    absl::StatusOr<UniqueFd> fd = dialed ? m_->dial() : m_->shared->factory(AF_INET, SOCK_STREAM);
    if (!fd.ok()) {
      close(strCat(dialed ? "dial: " : "upstream socket: ", fd.status().message()));
      return;
    }
    if (!dialed && m_->spec.keepClientAddress && peer_) {
      claimClientAddress(fd->get(), peer_->address(), peer_->port(), *m_->shared);
    }
    error_code ec;
    upstream_.assign(tcp::v4(), fd->get(), ec);  // a dialed one may be any stream socket: asio's calls work on it
    if (ec) {
      close(strCat("upstream socket: ", ec.message()));
      return;
    }
    fd->release();
    upstream_.non_blocking(true, ec);
    client_.non_blocking(true, ec);
    client_.set_option(tcp::no_delay(true), ec);
    upstream_.set_option(tcp::no_delay(true), ec);  // fails harmlessly on a unix socket
    if (dialed) {  // a tunnel's socket is connected already: relaying starts at once
      onConnected(error_code());
      return;
    }
    upstream_.async_connect(m_->tcpTarget, [self = shared_from_this()](const error_code& ec) {
      self->onConnected(ec);
    });
  }

  // Idempotent. Closing the sockets cancels the pending waits; their handlers
  // then see closed_ and return.
  void close(std::string_view why) {
    if (closed_) return;
    closed_ = true;
    auto self = shared_from_this();  // the erase below may drop the last other owner
    error_code ec;
    client_.close(ec);
    upstream_.close(ec);
    for (Pump* p : {&up_, &down_}) {
      p->pipeR.reset();
      p->pipeW.reset();
      p->buf.reset();
    }
    m_->conns.erase(this);
    log::debug("port forward: connection closed", {{"proto", "tcp"},
                                                  {"client", clientText_},
                                                  {"container", m_->targetText},
                                                  {"reason", why.empty() ? std::string("done") : std::string(why)}});
  }

 private:
  struct Pump {
    tcp::socket* src = nullptr;
    tcp::socket* dst = nullptr;
    const char* name = "";
    UniqueFd pipeR, pipeW;       // splice mode
    std::unique_ptr<char[]> buf;  // buffer mode (no pipe, or no splice on these sockets)
    size_t off = 0;
    size_t pending = 0;  // read from src, not yet written to dst
    bool eof = false;
    bool done = false;
  };

  void onConnected(const error_code& ec) {
    if (closed_) return;
    if (ec) {
      close(strCat("connect to container: ", ec.message()));
      return;
    }
    log::debug("port forward: connection opened",
               {{"proto", "tcp"}, {"client", clientText_}, {"container", m_->targetText}});
    for (Pump* p : {&up_, &down_}) {
      int fds[2];
      if (m_->useSplice && ::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) {
        p->pipeR.reset(fds[0]);
        p->pipeW.reset(fds[1]);
      } else {
        p->buf = std::make_unique_for_overwrite<char[]>(kChunk);
      }
    }
    pump(up_);
    pump(down_);
  }

  ssize_t fill(Pump& p) {
    if (p.pipeW.valid()) {
      return ::splice(p.src->native_handle(), nullptr, p.pipeW.get(), nullptr, kChunk,
                      SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    }
    p.off = 0;
    return ::recv(p.src->native_handle(), p.buf.get(), kChunk, 0);
  }

  ssize_t drain(Pump& p) {
    if (p.pipeR.valid()) return spliceToSocket(p.pipeR.get(), p.dst->native_handle(), p.pending);
    ssize_t n = ::send(p.dst->native_handle(), p.buf.get() + p.off, p.pending, MSG_NOSIGNAL);
    if (n > 0) p.off += size_t(n);
    return n;
  }

  void waitFor(Pump& p, tcp::socket& s, tcp::socket::wait_type w) {
    s.async_wait(w, [self = shared_from_this(), &p](const error_code& ec) {
      if (self->closed_) return;
      if (ec) {
        self->close(strCat(p.name, " wait: ", ec.message()));
        return;
      }
      self->pump(p);
    });
  }

  // Moves data until a socket would block, then waits for it.
  void pump(Pump& p) {
    for (int step = 0; !closed_; ++step) {
      if (step == kPumpStepsPerTurn) {
        net::post(m_->ioc, [self = shared_from_this(), &p] {
          if (!self->closed_) self->pump(p);
        });
        return;
      }
      if (p.pending > 0) {
        ssize_t n = drain(p);
        if (n > 0) {
          p.pending -= size_t(n);
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          waitFor(p, *p.dst, tcp::socket::wait_write);
          return;
        }
        close(strCat(p.name, " write: ", n < 0 ? errnoText(errno) : std::string("no progress")));
        return;
      }
      if (p.eof) {
        finish(p);
        return;
      }
      ssize_t n = fill(p);
      if (n > 0) {
        p.pending = size_t(n);
        continue;
      }
      if (n == 0) {
        p.eof = true;
        continue;
      }
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        waitFor(p, *p.src, tcp::socket::wait_read);
        return;
      }
      if (p.pipeW.valid() && (err == EINVAL || err == ENOSYS)) {
        // These sockets cannot be spliced (the pipe is empty here): relay through a buffer.
        p.pipeR.reset();
        p.pipeW.reset();
        p.buf = std::make_unique_for_overwrite<char[]>(kChunk);
        continue;
      }
      close(strCat(p.name, " read: ", errnoText(err)));
      return;
    }
  }

  // One direction reached EOF and wrote everything: pass the half-close on.
  void finish(Pump& p) {
    p.done = true;
    p.pipeR.reset();
    p.pipeW.reset();
    p.buf.reset();
    error_code ec;
    p.dst->shutdown(tcp::socket::shutdown_send, ec);
    if (up_.done && down_.done) close("");
  }

  std::shared_ptr<Mapping> m_;
  tcp::socket client_;
  tcp::socket upstream_;
  std::optional<tcp::endpoint> peer_;  // unknown when the accepted socket could not tell
  std::string clientText_;
  Pump up_;    // client -> container
  Pump down_;  // container -> client
  bool closed_ = false;
};

// One UDP client of a listener: its own upstream socket connected to the
// container, so the container's replies can be told apart per client.
class UdpSession : public std::enable_shared_from_this<UdpSession> {
 public:
  UdpSession(std::shared_ptr<Mapping> m, size_t listener, const udp::endpoint& client)
      : m_(std::move(m)),
        listener_(listener),
        client_(client),
        clientText_(endpointText(client)),
        upstream_(m_->ioc),
        idle_(m_->ioc),
        buf_(kUdpBuffer) {}

  absl::Status open() {
    auto fd = m_->shared->factory(AF_INET, SOCK_DGRAM);
    if (!fd.ok()) return fd.status();
    if (m_->spec.keepClientAddress) claimClientAddress(fd->get(), client_.address(), client_.port(), *m_->shared);
    error_code ec;
    upstream_.assign(udp::v4(), fd->get(), ec);
    if (ec) return absl::InternalError(strCat("upstream socket: ", ec.message()));
    fd->release();
    upstream_.non_blocking(true, ec);
    upstream_.connect(m_->udpTarget, ec);  // immediate for UDP: only sets the peer
    if (ec) return absl::UnavailableError(strCat("connect to container: ", ec.message()));
    return absl::OkStatus();
  }

  void start() {
    lastActive_ = std::chrono::steady_clock::now();
    log::debug("port forward: udp session opened",
               {{"proto", "udp"}, {"client", clientText_}, {"container", m_->targetText}});
    armIdle();
    receiveNext();
  }

  // Client -> container. UDP semantics: a datagram that cannot go now is dropped.
  void forward(const char* data, size_t n) {
    lastActive_ = std::chrono::steady_clock::now();
    error_code ec;
    upstream_.send(net::buffer(data, n), 0, ec);
    if (ec) log::debug("port forward: udp datagram dropped", {{"client", clientText_}, {"error", ec.message()}});
  }

  void close(std::string_view why) {
    if (closed_) return;
    closed_ = true;
    auto self = shared_from_this();
    error_code ec;
    upstream_.close(ec);
    idle_.cancel();
    auto it = m_->sessions.find({listener_, client_});
    if (it != m_->sessions.end() && it->second.get() == this) m_->sessions.erase(it);
    log::debug("port forward: udp session closed",
               {{"proto", "udp"}, {"client", clientText_}, {"container", m_->targetText}, {"reason", std::string(why)}});
  }

 private:
  // Expiry is checked lazily: the timer fires at lastActive_ + timeout and re-arms if there was traffic since.
  void armIdle() {
    idle_.expires_at(lastActive_ + kUdpSessionIdleTimeout);
    idle_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec || self->closed_) return;
      if (std::chrono::steady_clock::now() >= self->lastActive_ + kUdpSessionIdleTimeout) {
        self->close("idle");
      } else {
        self->armIdle();
      }
    });
  }

  void receiveNext() {
    upstream_.async_receive(net::buffer(buf_), [self = shared_from_this()](const error_code& ec, size_t n) {
      if (self->closed_) return;
      if (ec == net::error::connection_refused) {
        // An ICMP port-unreachable from the container: nothing listens yet. Keep the session.
        self->receiveNext();
        return;
      }
      if (ec) {
        self->close(strCat("receive: ", ec.message()));
        return;
      }
      self->lastActive_ = std::chrono::steady_clock::now();
      error_code sendEc;
      self->m_->udpListeners[self->listener_]->sock.send_to(net::buffer(self->buf_.data(), n), self->client_, 0,
                                                             sendEc);
      if (sendEc) {
        log::debug("port forward: udp reply dropped", {{"client", self->clientText_}, {"error", sendEc.message()}});
      }
      self->receiveNext();
    });
  }

  std::shared_ptr<Mapping> m_;
  const size_t listener_;
  const udp::endpoint client_;
  const std::string clientText_;
  udp::socket upstream_;
  net::steady_timer idle_;
  std::vector<char> buf_;
  std::chrono::steady_clock::time_point lastActive_;
  bool closed_ = false;
};

absl::Status Mapping::addListener(UniqueFd fd) {
  int type = 0;
  int domain = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_TYPE, &type, &len) < 0) return errnoStatus(errno, "listener fd");
  len = sizeof domain;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) return errnoStatus(errno, "listener fd");
  if (domain != AF_INET && domain != AF_INET6) {
    return absl::InvalidArgumentError("listener fd: not an IPv4 or IPv6 socket");
  }
  bool isTcp = spec.proto == "tcp";
  if (type != (isTcp ? SOCK_STREAM : SOCK_DGRAM)) {
    return absl::InvalidArgumentError(strCat("listener fd: not a ", spec.proto, " socket"));
  }
  error_code ec;
  if (isTcp) {
    int listening = 0;
    len = sizeof listening;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0) {
      return errnoStatus(errno, "listener fd");
    }
    if (!listening && ::listen(fd.get(), SOMAXCONN) < 0) return errnoStatus(errno, "listen");
    auto l = std::make_unique<TcpListener>(ioc);
    l->acceptor.assign(domain == AF_INET ? tcp::v4() : tcp::v6(), fd.get(), ec);
    if (ec) return absl::InternalError(strCat("listener fd: ", ec.message()));
    fd.release();
    l->acceptor.non_blocking(true, ec);
    tcpListeners.push_back(std::move(l));
  } else {
    auto l = std::make_unique<UdpListener>(ioc);
    l->sock.assign(domain == AF_INET ? udp::v4() : udp::v6(), fd.get(), ec);
    if (ec) return absl::InternalError(strCat("listener fd: ", ec.message()));
    fd.release();
    l->sock.non_blocking(true, ec);  // replies are sent without waiting; a full buffer drops them
    udpListeners.push_back(std::move(l));
  }
  return absl::OkStatus();
}

std::string Mapping::listenText() const {
  std::string out;
  error_code ec;
  for (auto& l : tcpListeners) {
    tcp::endpoint ep = l->acceptor.local_endpoint(ec);
    out += strCat(out.empty() ? "" : ",", ec ? std::string("?") : endpointText(ep));
  }
  for (auto& l : udpListeners) {
    udp::endpoint ep = l->sock.local_endpoint(ec);
    out += strCat(out.empty() ? "" : ",", ec ? std::string("?") : endpointText(ep));
  }
  return out;
}

void Mapping::start() {
  if (closed) return;
  for (size_t i = 0; i < tcpListeners.size(); ++i) acceptNext(i);
  for (size_t i = 0; i < udpListeners.size(); ++i) receiveNext(i);
}

void Mapping::close() {
  if (closed) return;
  closed = true;
  error_code ec;
  for (auto& l : tcpListeners) {
    l->acceptor.close(ec);
    l->retry.cancel();
  }
  for (auto& l : udpListeners) {
    l->sock.close(ec);
    l->retry.cancel();
  }
  auto openConns = std::exchange(conns, {});
  for (auto& [ptr, conn] : openConns) conn->close("port mapping removed");
  auto openSessions = std::exchange(sessions, {});
  for (auto& [key, session] : openSessions) session->close("port mapping removed");
  log::debug("port forward: mapping removed", {{"proto", spec.proto}, {"container", targetText}});
}

void Mapping::acceptNext(size_t i) {
  TcpListener& l = *tcpListeners[i];
  l.acceptor.async_accept([self = shared_from_this(), i](const error_code& ec, tcp::socket s) {
    if (self->closed) return;
    if (ec) {
      log::debug("port forward: accept failed", {{"container", self->targetText}, {"error", ec.message()}});
      TcpListener& l = *self->tcpListeners[i];
      l.retry.expires_after(kListenerRetryDelay);
      l.retry.async_wait([self, i](const error_code& ec) {
        if (!ec && !self->closed) self->acceptNext(i);
      });
      return;
    }
    error_code epEc;
    tcp::endpoint peer = s.remote_endpoint(epEc);
    auto conn = std::make_shared<TcpConn>(self, std::move(s), epEc ? std::nullopt : std::optional(peer));
    self->conns.emplace(conn.get(), conn);
    conn->start();
    self->acceptNext(i);
  });
}

void Mapping::receiveNext(size_t i) {
  UdpListener& l = *udpListeners[i];
  l.sock.async_receive_from(net::buffer(l.buf), l.from, [self = shared_from_this(), i](const error_code& ec, size_t n) {
    if (self->closed) return;
    if (ec) {
      log::debug("port forward: udp receive failed", {{"container", self->targetText}, {"error", ec.message()}});
      UdpListener& l = *self->udpListeners[i];
      l.retry.expires_after(kListenerRetryDelay);
      l.retry.async_wait([self, i](const error_code& ec) {
        if (!ec && !self->closed) self->receiveNext(i);
      });
      return;
    }
    self->onDatagram(i, n);
    self->receiveNext(i);
  });
}

void Mapping::onDatagram(size_t i, size_t n) {
  UdpListener& l = *udpListeners[i];
  std::pair<size_t, udp::endpoint> key{i, l.from};
  std::shared_ptr<UdpSession> session;
  if (auto it = sessions.find(key); it != sessions.end()) {
    session = it->second;
  } else {
    if (sessions.size() >= kMaxUdpSessionsPerMapping) {
      log::debug("port forward: too many udp sessions, datagram dropped",
                 {{"client", endpointText(l.from)}, {"container", targetText}});
      return;
    }
    session = std::make_shared<UdpSession>(shared_from_this(), i, l.from);
    if (absl::Status s = session->open(); !s.ok()) {
      log::debug("port forward: udp session failed",
                 {{"client", endpointText(l.from)}, {"container", targetText}, {"error", std::string(toStd(s.message()))}});
      return;
    }
    sessions.emplace(key, session);
    session->start();
  }
  session->forward(l.buf.data(), n);
}

}  // namespace port_forwarder_internal

// ---- Public API -----------------------------------------------------------------

absl::StatusOr<std::vector<BoundPort>> bindListeners(const PortSpec& spec, std::vector<UniqueFd>& out) {
  if (spec.proto != "tcp" && spec.proto != "udp") {
    return absl::InvalidArgumentError(strCat("unsupported protocol for a published port: ", spec.proto));
  }
  bool isTcp = spec.proto == "tcp";
  BERTH_ASSIGN_OR_RETURN(std::vector<HostAddr> addrs, hostAddrs(spec.hostIp));
  std::vector<BoundPort> ports;
  absl::Status err;

  if (spec.hostPort != 0) {
    switch (bindAllAt(addrs, spec.hostPort, isTcp, out, ports, err)) {
      case Outcome::Bound: return ports;
      case Outcome::InUse: return allocatedError(spec, spec.hostPort);
      case Outcome::Failed: return err;
    }
  }

  auto [lo, hi] = ephemeralRange();
  std::lock_guard lock(gPortCursorMu);
  uint32_t port = (gNextPort < lo || gNextPort > hi) ? lo : gNextPort;
  for (uint32_t tries = hi - lo + 1; tries > 0; --tries) {
    uint32_t candidate = port;
    port = port == hi ? lo : port + 1;
    switch (bindAllAt(addrs, uint16_t(candidate), isTcp, out, ports, err)) {
      case Outcome::Bound: gNextPort = port; return ports;
      case Outcome::InUse: continue;
      case Outcome::Failed: return err;
    }
  }
  return absl::ResourceExhaustedError(
      strCat("Bind for ", spec.hostIp.empty() ? std::string_view("0.0.0.0") : spec.hostIp,
             ": all ports are allocated"));
}

absl::StatusOr<UniqueFd> currentNetnsSocket(int domain, int type) {
  UniqueFd fd(::socket(domain, type | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errnoStatus(errno, "socket");
  return fd;
}

PortForwarder::PortForwarder(net::io_context& ioc, SocketFactory factory)
    : ioc_(ioc),
      shared_(std::make_shared<port_forwarder_internal::Shared>()) {
  shared_->factory = factory ? std::move(factory) : SocketFactory(currentNetnsSocket);
}

void PortForwarder::setBridgedSubnets(std::vector<Ipv4Prefix> subnets) {
  std::lock_guard lock(shared_->mu);
  shared_->bridgedSubnets = std::move(subnets);
}

PortForwarder::~PortForwarder() {
  std::vector<std::shared_ptr<port_forwarder_internal::Mapping>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [h, m] : mappings_) all.push_back(std::move(m));
    mappings_.clear();
  }
  if (all.empty()) return;
  runOnIo([all] {
    for (auto& m : all) m->close();
  });
}

absl::StatusOr<PortForwarder::Handle> PortForwarder::add(std::vector<UniqueFd> listeners, const PortSpec& spec,
                                                         Dialer dial) {
  if (spec.proto != "tcp" && spec.proto != "udp") {
    return absl::InvalidArgumentError(strCat("unsupported protocol for a published port: ", spec.proto));
  }
  if (dial && spec.proto != "tcp") return absl::InvalidArgumentError("only tcp ports can be tunnelled");
  if (listeners.empty()) return absl::InvalidArgumentError("port mapping without a listener");
  if (spec.containerPort == 0) return absl::InvalidArgumentError("port mapping without a container port");
  auto m = std::make_shared<port_forwarder_internal::Mapping>(ioc_, spec, shared_, splice_, std::move(dial));
  for (UniqueFd& fd : listeners) BERTH_RETURN_IF_ERROR(m->addListener(std::move(fd)));
  Handle h;
  {
    std::lock_guard lock(mu_);
    h = nextHandle_++;
    mappings_.emplace(h, m);
  }
  // Accepting starts on the io thread; a remove() that gets there first makes start() a no-op.
  net::post(ioc_, [m] { m->start(); });
  log::debug("port forward: mapping added", {{"proto", spec.proto}, {"host", m->listenText()}, {"container", m->targetText}});
  return h;
}

void PortForwarder::remove(Handle handle) {
  std::shared_ptr<port_forwarder_internal::Mapping> m;
  {
    std::lock_guard lock(mu_);
    auto it = mappings_.find(handle);
    if (it == mappings_.end()) return;
    m = std::move(it->second);
    mappings_.erase(it);
  }
  runOnIo([m] { m->close(); });
}

void PortForwarder::runOnIo(std::function<void()> fn) {
  if (ioc_.get_executor().running_in_this_thread()) {
    fn();
    return;
  }
  // Whoever claims the call runs it: the io thread, or this thread once the io_context
  // has stopped (then nothing else runs its handlers, and waiting would never end).
  struct Call {
    std::mutex mu;
    std::condition_variable cv;
    bool claimed = false;
    bool done = false;
    std::function<void()> fn;
  };
  auto call = std::make_shared<Call>();
  call->fn = std::move(fn);
  net::post(ioc_, [call] {
    std::function<void()> f;
    {
      std::lock_guard lock(call->mu);
      if (call->claimed) return;
      call->claimed = true;
      f = std::move(call->fn);
    }
    f();
    {
      std::lock_guard lock(call->mu);
      call->done = true;
    }
    call->cv.notify_all();
  });
  std::unique_lock lock(call->mu);
  while (!call->done) {
    if (!call->claimed && ioc_.stopped()) {
      call->claimed = true;
      std::function<void()> f = std::move(call->fn);
      lock.unlock();
      f();
      return;
    }
    call->cv.wait_for(lock, std::chrono::milliseconds(50));
  }
}

}  // namespace berth::network
