#include "network/port_forwarder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "util/strings.h"

namespace berth::network {
namespace {

namespace net = boost::asio;

constexpr uint32_t kLoopback = 0x7f000001;

// The io_context the forwarder runs on, on its own thread, as in the daemon.
class IoThread {
 public:
  IoThread() : work_(net::make_work_guard(ioc_)), thread_([this] { ioc_.run(); }) {}
  ~IoThread() {
    work_.reset();
    ioc_.stop();
    thread_.join();
  }
  net::io_context& ioc() { return ioc_; }

 private:
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::thread thread_;
};

sockaddr_in v4(uint32_t ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(ip);
  a.sin_port = htons(port);
  return a;
}

uint16_t localPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

UniqueFd boundSocket(int type, uint32_t ip, uint16_t port = 0) {
  UniqueFd fd(socket(AF_INET, type | SOCK_CLOEXEC, 0));
  sockaddr_in a = v4(ip, port);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return {};
  return fd;
}

// The "container": 127.0.0.2 when the loopback answers for it (Linux routes all of 127/8), so
// the forwarder's two sides use different addresses; 127.0.0.1 otherwise.
uint32_t containerIp() {
  static const uint32_t ip = boundSocket(SOCK_STREAM, 0x7f000002).valid() ? 0x7f000002 : kLoopback;
  return ip;
}

bool hasIpv6() {
  UniqueFd fd(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  return bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

UniqueFd connectTo(int family, uint16_t port, int type = SOCK_STREAM) {
  UniqueFd fd(socket(family, type | SOCK_CLOEXEC, 0));
  int rc;
  if (family == AF_INET) {
    sockaddr_in a = v4(kLoopback, port);
    rc = connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    a.sin6_port = htons(port);
    rc = connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  if (rc < 0) return {};
  return fd;
}

bool readable(int fd, int timeoutMs) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeoutMs) == 1;
}

bool sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(size_t(n));
  }
  return true;
}

// Reads until EOF; stops early (and the comparison fails) if nothing arrives for 10 s.
std::string readToEof(int fd) {
  std::string out;
  char buf[65536];
  while (readable(fd, 10000)) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, size_t(n));
  }
  return out;
}

std::string readExactly(int fd, size_t size) {
  std::string out;
  char buf[4096];
  while (out.size() < size && readable(fd, 10000)) {
    ssize_t n = recv(fd, buf, std::min(sizeof buf, size - out.size()), 0);
    if (n <= 0) break;
    out.append(buf, size_t(n));
  }
  return out;
}

// Waits for the peer to close: true on EOF or RST within `timeoutMs`.
bool seesClose(int fd, int timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    if (!readable(fd, 100)) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
  }
  return false;
}

std::string pattern(size_t size) {
  std::string s(size, '\0');
  uint32_t x = 2463534242u;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = char(x);
  }
  return s;
}

// A TCP "container" with blocking threads: Echo writes back as it reads; ReplyAfterEof
// writes everything back only after the client half-closed; Stream sends until the peer goes away.
class TcpServer {
 public:
  enum class Mode { Echo, ReplyAfterEof, Stream };

  explicit TcpServer(Mode mode) : mode_(mode), listener_(boundSocket(SOCK_STREAM, containerIp())) {
    listen(listener_.get(), 64);
    port_ = localPort(listener_.get());
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~TcpServer() {
    shutdown(listener_.get(), SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : open_) shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  void acceptLoop() {
    for (;;) {
      int c = accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      ++accepted_;
      std::lock_guard lock(mu_);
      open_.insert(c);
      workers_.emplace_back([this, c] { serve(c); });
    }
  }

  void serve(int c) {
    std::string kept;
    char buf[65536];
    if (mode_ == Mode::Stream) {
      std::string chunk = pattern(sizeof buf);
      while (sendAll(c, chunk)) {
      }
    } else {
      for (;;) {
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (mode_ == Mode::Echo && !sendAll(c, std::string_view(buf, size_t(n)))) break;
        if (mode_ == Mode::ReplyAfterEof) kept.append(buf, size_t(n));
      }
      if (mode_ == Mode::ReplyAfterEof) sendAll(c, kept);
    }
    {
      std::lock_guard lock(mu_);
      open_.erase(c);
    }
    close(c);
  }

  Mode mode_;
  UniqueFd listener_;
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::set<int> open_;
  std::vector<std::thread> workers_;
};

// A UDP echo "container"; remembers the source addresses it saw.
class UdpEchoServer {
 public:
  UdpEchoServer() : fd_(boundSocket(SOCK_DGRAM, containerIp())) {
    port_ = localPort(fd_.get());
    thread_ = std::thread([this] { loop(); });
  }
  ~UdpEchoServer() {
    stop_ = true;
    thread_.join();
  }
  uint16_t port() const { return port_; }
  size_t peers() {
    std::lock_guard lock(mu_);
    return peers_.size();
  }

 private:
  void loop() {
    char buf[65536];
    while (!stop_) {
      if (!readable(fd_.get(), 50)) continue;
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) continue;
      {
        std::lock_guard lock(mu_);
        peers_.insert(ntohs(from.sin_port));
      }
      sendto(fd_.get(), buf, size_t(n), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }

  UniqueFd fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::set<uint16_t> peers_;
};

class PortForwarderTest : public ::testing::Test {
 protected:
  // Binds proto on 127.0.0.1 (a free ephemeral port) and forwards it to the container port.
  uint16_t publish(const std::string& proto, uint16_t containerPort, PortForwarder::Handle* handle = nullptr) {
    PortSpec spec{proto, "127.0.0.1", 0, containerIp(), containerPort};
    std::vector<UniqueFd> fds;
    auto bound = bindListeners(spec, fds);
    EXPECT_TRUE(bound.ok()) << bound.status();
    if (!bound.ok()) return 0;
    EXPECT_EQ(bound->size(), 1u);
    auto h = fwd_->add(std::move(fds), spec);
    EXPECT_TRUE(h.ok()) << h.status();
    if (handle && h.ok()) *handle = *h;
    return (*bound)[0].hostPort;
  }

  IoThread io_;  // declared first: outlives the forwarder
  std::optional<PortForwarder> fwd_{std::in_place, io_.ioc()};
};

// 4 MiB through the forwarder to an echo server and back, byte-exact.
void expectEchoedExactly(uint16_t port) {
  UniqueFd c = connectTo(AF_INET, port);
  ASSERT_TRUE(c.valid());
  const std::string data = pattern(4 << 20);
  // Write and read at once: the echo only reads on while its replies are read.
  std::thread writer([&] {
    EXPECT_TRUE(sendAll(c.get(), data));
    shutdown(c.get(), SHUT_WR);
  });
  std::string got = readToEof(c.get());
  writer.join();
  ASSERT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data) << "relayed bytes differ";
}

TEST_F(PortForwarderTest, RelaysFourMebibytesBothWays) {
  TcpServer server(TcpServer::Mode::Echo);
  expectEchoedExactly(publish("tcp", server.port()));
}

TEST_F(PortForwarderTest, HalfCloseStillGetsTheWholeReply) {
  TcpServer server(TcpServer::Mode::ReplyAfterEof);
  uint16_t port = publish("tcp", server.port());
  UniqueFd c = connectTo(AF_INET, port);
  ASSERT_TRUE(c.valid());
  const std::string data = pattern(300 * 1024);
  ASSERT_TRUE(sendAll(c.get(), data));
  ASSERT_EQ(shutdown(c.get(), SHUT_WR), 0);  // nc-style: send, half-close, read the answer
  std::string got = readToEof(c.get());
  ASSERT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
}

TEST_F(PortForwarderTest, RelaysThroughBuffersWithoutSplice) {
  fwd_->disableSpliceForTest();
  TcpServer echo(TcpServer::Mode::Echo);
  expectEchoedExactly(publish("tcp", echo.port()));

  TcpServer replier(TcpServer::Mode::ReplyAfterEof);
  uint16_t port = publish("tcp", replier.port());
  UniqueFd h = connectTo(AF_INET, port);
  ASSERT_TRUE(h.valid());
  const std::string request = pattern(300 * 1024);
  ASSERT_TRUE(sendAll(h.get(), request));
  ASSERT_EQ(shutdown(h.get(), SHUT_WR), 0);
  EXPECT_TRUE(readToEof(h.get()) == request);
}

TEST_F(PortForwarderTest, TakenPortIsAlreadyAllocated) {
  UniqueFd taken = boundSocket(SOCK_STREAM, kLoopback);
  ASSERT_EQ(listen(taken.get(), 1), 0);
  uint16_t port = localPort(taken.get());
  std::vector<UniqueFd> fds;
  auto r = bindListeners({"tcp", "127.0.0.1", port, containerIp(), 80}, fds);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(r.status().message(), strCat("Bind for 127.0.0.1:", port, " failed: port is already allocated"));
  EXPECT_TRUE(fds.empty());

  // All addresses: the message names 0.0.0.0, as dockerd's does.
  UniqueFd takenAny = boundSocket(SOCK_STREAM, INADDR_ANY);
  ASSERT_EQ(listen(takenAny.get(), 1), 0);
  uint16_t anyPort = localPort(takenAny.get());
  r = bindListeners({"tcp", "", anyPort, containerIp(), 80}, fds);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(r.status().message(), strCat("Bind for 0.0.0.0:", anyPort, " failed: port is already allocated"));
  EXPECT_TRUE(fds.empty());

  UniqueFd takenUdp = boundSocket(SOCK_DGRAM, kLoopback);
  uint16_t udpPort = localPort(takenUdp.get());
  r = bindListeners({"udp", "127.0.0.1", udpPort, containerIp(), 53}, fds);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), strCat("Bind for 127.0.0.1:", udpPort, " failed: port is already allocated"));

  r = bindListeners({"sctp", "", 80, containerIp(), 80}, fds);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  r = bindListeners({"tcp", "not-an-ip", 80, containerIp(), 80}, fds);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PortForwarderTest, PortZeroTakesOneFromTheEphemeralRangeOnBothFamilies) {
  uint32_t lo = 0;
  uint32_t hi = 0;
  std::string range = readFileOrEmpty("/proc/sys/net/ipv4/ip_local_port_range");
  auto parts = splitAny(range, " \t\n", true);
  ASSERT_EQ(parts.size(), 2u);
  ASSERT_TRUE(parseInt(parts[0], lo) && parseInt(parts[1], hi));

  TcpServer server(TcpServer::Mode::Echo);
  PortSpec spec{"tcp", "", 0, containerIp(), server.port()};
  std::vector<UniqueFd> fds;
  auto bound = bindListeners(spec, fds);
  ASSERT_TRUE(bound.ok()) << bound.status();
  const bool v6 = hasIpv6();
  ASSERT_EQ(bound->size(), v6 ? 2u : 1u);
  ASSERT_EQ(fds.size(), bound->size());
  uint16_t port = (*bound)[0].hostPort;
  EXPECT_EQ((*bound)[0].hostIp, "0.0.0.0");
  EXPECT_GE(port, lo);
  EXPECT_LE(port, hi);
  if (v6) {
    EXPECT_EQ((*bound)[1].hostIp, "::");
    EXPECT_EQ((*bound)[1].hostPort, port) << "IPv4 and IPv6 must share the port";
  }
  for (auto& fd : fds) EXPECT_EQ(localPort(fd.get()), port);

  // The cursor moves on: the next mapping gets another port (this one is held anyway).
  std::vector<UniqueFd> more;
  auto next = bindListeners({"udp", "", 0, containerIp(), 53}, more);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_NE((*next)[0].hostPort, port);
  EXPECT_GE((*next)[0].hostPort, lo);
  EXPECT_LE((*next)[0].hostPort, hi);
  for (auto& p : *next) EXPECT_EQ(p.hostPort, (*next)[0].hostPort);

  // Both families reach the container.
  ASSERT_TRUE(fwd_->add(std::move(fds), spec).ok());
  for (int family : v6 ? std::vector<int>{AF_INET, AF_INET6} : std::vector<int>{AF_INET}) {
    UniqueFd c = connectTo(family, port);
    ASSERT_TRUE(c.valid()) << family;
    ASSERT_TRUE(sendAll(c.get(), "hello"));
    EXPECT_EQ(readExactly(c.get(), 5), "hello") << family;
  }
}

TEST_F(PortForwarderTest, RemoveClosesConnectionsAndFreesThePort) {
  TcpServer server(TcpServer::Mode::Echo);
  PortForwarder::Handle h = 0;
  uint16_t port = publish("tcp", server.port(), &h);
  UniqueFd c = connectTo(AF_INET, port);
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(sendAll(c.get(), "ping"));
  ASSERT_EQ(readExactly(c.get(), 4), "ping");  // relayed, so the upstream side is open too

  fwd_->remove(h);
  EXPECT_TRUE(seesClose(c.get(), 2000)) << "the client connection stays open after remove()";
  EXPECT_FALSE(connectTo(AF_INET, port).valid()) << "still accepting after remove()";
  std::vector<UniqueFd> fds;
  auto again = bindListeners({"tcp", "127.0.0.1", port, containerIp(), server.port()}, fds);
  EXPECT_TRUE(again.ok()) << again.status();
  fwd_->remove(h);  // a second remove is a no-op
}

TEST_F(PortForwarderTest, UdpClientsEachGetTheirOwnReplies) {
  UdpEchoServer server;
  uint16_t port = publish("udp", server.port());
  UniqueFd a = connectTo(AF_INET, port, SOCK_DGRAM);
  UniqueFd b = connectTo(AF_INET, port, SOCK_DGRAM);
  ASSERT_TRUE(a.valid() && b.valid());
  for (int i = 0; i < 5; ++i) {
    for (auto [fd, name] : {std::pair{a.get(), "a"}, std::pair{b.get(), "b"}}) {
      std::string msg = strCat(name, "-", i);
      ASSERT_EQ(send(fd, msg.data(), msg.size(), 0), ssize_t(msg.size()));
    }
    for (auto [fd, name] : {std::pair{a.get(), "a"}, std::pair{b.get(), "b"}}) {
      ASSERT_TRUE(readable(fd, 5000)) << name << i;
      char buf[64];
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      ASSERT_GT(n, 0);
      EXPECT_EQ(std::string(buf, size_t(n)), strCat(name, "-", i));
    }
  }
  EXPECT_EQ(server.peers(), 2u) << "one upstream socket per client";
}

TEST_F(PortForwarderTest, ClosedContainerPortClosesTheClient) {
  uint16_t closedPort = localPort(boundSocket(SOCK_STREAM, containerIp()).get());  // bound, then closed: nobody listens
  uint16_t port = publish("tcp", closedPort);
  UniqueFd c = connectTo(AF_INET, port);
  ASSERT_TRUE(c.valid());
  EXPECT_TRUE(seesClose(c.get(), 2000));
}

TEST_F(PortForwarderTest, ClientVanishingMidStreamIsHarmless) {
  TcpServer server(TcpServer::Mode::Stream);
  uint16_t port = publish("tcp", server.port());
  for (int i = 0; i < 3; ++i) {
    UniqueFd c = connectTo(AF_INET, port);
    ASSERT_TRUE(c.valid());
    ASSERT_EQ(readExactly(c.get(), 100000).size(), 100000u);
    linger l{1, 0};
    setsockopt(c.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);  // close with RST
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Still serving (and the process is alive: a SIGPIPE would have killed it).
  UniqueFd c = connectTo(AF_INET, port);
  ASSERT_TRUE(c.valid());
  EXPECT_EQ(readExactly(c.get(), 100000).size(), 100000u);
}

TEST_F(PortForwarderTest, ServesListenersBoundElsewhereThroughTheFactory) {
  std::atomic<int> made{0};
  fwd_.reset();
  fwd_.emplace(io_.ioc(), [&made](int domain, int type) {
    ++made;
    return currentNetnsSocket(domain, type);
  });
  TcpServer server(TcpServer::Mode::Echo);
  // Bound but not listening, as a listener handed over from another namespace may be.
  UniqueFd fd = boundSocket(SOCK_STREAM, kLoopback);
  uint16_t port = localPort(fd.get());
  std::vector<UniqueFd> fds;
  fds.push_back(std::move(fd));
  ASSERT_TRUE(fwd_->add(std::move(fds), {"tcp", "127.0.0.1", port, containerIp(), server.port()}).ok());
  UniqueFd c = connectTo(AF_INET, port);
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(sendAll(c.get(), "x"));
  EXPECT_EQ(readExactly(c.get(), 1), "x");
  EXPECT_EQ(made.load(), 1);

  // A UDP fd for a TCP mapping is refused.
  std::vector<UniqueFd> wrong;
  wrong.push_back(boundSocket(SOCK_DGRAM, kLoopback));
  EXPECT_EQ(fwd_->add(std::move(wrong), {"tcp", "127.0.0.1", 0, containerIp(), 80}).status().code(),
            absl::StatusCode::kInvalidArgument);
  fwd_.reset();  // the factory refers to `made`
}

// A dialer's socketpair: each connection is relayed to a fresh pair whose
// other end an echo thread serves, as the kube backend's tunnels do.
TEST_F(PortForwarderTest, DialedConnectionsRelayToTheDialersSocket) {
  std::mutex mu;
  std::vector<std::thread> echoes;
  std::atomic<int> dialed{0};
  PortSpec spec{"tcp", "127.0.0.1", 0, 0, 9};
  Dialer dial = [&]() -> absl::StatusOr<UniqueFd> {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return absl::InternalError("socketpair");
    ++dialed;
    std::lock_guard lock(mu);
    echoes.emplace_back([far = UniqueFd(sv[1])] {
      char buf[65536];
      ssize_t n;
      while ((n = read(far.get(), buf, sizeof buf)) > 0) {
        if (!sendAll(far.get(), std::string_view(buf, size_t(n)))) break;
      }
      shutdown(far.get(), SHUT_WR);
    });
    return UniqueFd(sv[0]);
  };
  std::vector<UniqueFd> fds;
  auto bound = bindListeners(spec, fds);
  ASSERT_TRUE(bound.ok()) << bound.status();
  ASSERT_TRUE(fwd_->add(std::move(fds), spec, dial).ok());
  expectEchoedExactly((*bound)[0].hostPort);
  expectEchoedExactly((*bound)[0].hostPort);
  EXPECT_EQ(dialed.load(), 2);
  fwd_.reset();
  for (std::thread& t : echoes) t.join();
}

TEST_F(PortForwarderTest, FailedDialClosesTheClientAndUdpCannotBeDialed) {
  PortSpec spec{"tcp", "127.0.0.1", 0, 0, 9};
  Dialer dial = []() -> absl::StatusOr<UniqueFd> { return absl::UnavailableError("pod gone"); };
  std::vector<UniqueFd> fds;
  auto bound = bindListeners(spec, fds);
  ASSERT_TRUE(bound.ok()) << bound.status();
  ASSERT_TRUE(fwd_->add(std::move(fds), spec, dial).ok());
  UniqueFd c = connectTo(AF_INET, (*bound)[0].hostPort);
  ASSERT_TRUE(c.valid());
  EXPECT_TRUE(seesClose(c.get(), 2000));

  PortSpec udp = spec;
  udp.proto = "udp";
  std::vector<UniqueFd> udpFds;
  ASSERT_TRUE(bindListeners(udp, udpFds).ok());
  EXPECT_EQ(fwd_->add(std::move(udpFds), udp, dial).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PortForwarderTest, DestructorClosesEverything) {
  TcpServer server(TcpServer::Mode::Echo);
  uint16_t port = publish("tcp", server.port());
  UniqueFd c = connectTo(AF_INET, port);
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(sendAll(c.get(), "ping"));
  ASSERT_EQ(readExactly(c.get(), 4), "ping");
  fwd_.reset();
  EXPECT_TRUE(seesClose(c.get(), 2000));
  EXPECT_FALSE(connectTo(AF_INET, port).valid());
}

}  // namespace
}  // namespace berth::network
