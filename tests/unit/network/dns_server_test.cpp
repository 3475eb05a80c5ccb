#include "network/dns_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <random>
#include <stdexcept>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "network/dns_message.h"

namespace berth::network {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kLoopback = 0x7f000001;

// The io_context on its own thread, as the engine runs it.
class IoThread {
 public:
  IoThread() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~IoThread() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    work_.reset();
    io_.stop();
    thread_.join();
  }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(kLoopback);
  return addr;
}

uint16_t get16(const std::string& s, size_t off) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[off]) << 8 | static_cast<uint8_t>(s[off + 1]));
}

std::string makeQuery(uint16_t id, std::string_view name, uint16_t type) {
  std::string out{static_cast<char>(id >> 8), static_cast<char>(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    out.push_back(static_cast<char>(dot - start));
    out.append(name.substr(start, dot - start));
    start = dot + 1;
  }
  out.push_back(0);
  out.push_back(static_cast<char>(type >> 8));
  out.push_back(static_cast<char>(type & 0xff));
  out.push_back(0);
  out.push_back(1);
  return out;
}

int rcode(const std::string& reply) { return static_cast<uint8_t>(reply[3]) & 0xf; }

// The addresses of a reply to makeQuery(…, name, A) whose records are all A
// records written as answerA writes them.
std::vector<uint32_t> addresses(const std::string& reply, std::string_view name) {
  std::vector<uint32_t> out;
  size_t pos = 12 + name.size() + 2 + 4;
  for (uint16_t i = 0; i < get16(reply, 6) && pos + 16 <= reply.size(); ++i, pos += 16) {
    out.push_back(static_cast<uint32_t>(get16(reply, pos + 12)) << 16 | get16(reply, pos + 14));
  }
  return out;
}

// Sends one datagram and waits for one reply; "" on timeout.
std::string udpExchange(uint16_t port, const std::string& query, milliseconds timeout = milliseconds(3000)) {
  Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in to = loopback(port);
  EXPECT_EQ(::sendto(fd.get(), query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(query.size()));
  pollfd pfd{fd.get(), POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) != 1) return "";
  std::string buf(65536, '\0');
  ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
  if (n < 0) return "";
  buf.resize(static_cast<size_t>(n));
  return buf;
}

Fd tcpConnect(uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in to = loopback(port);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  return fd;
}

bool readFull(int fd, char* out, size_t n, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (n > 0) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    pollfd pfd{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&pfd, 1, static_cast<int>(left)) != 1) return false;
    ssize_t got = ::read(fd, out, n);
    if (got <= 0) return false;
    out += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

// True when the peer closed the connection within `timeout`.
bool closedByPeer(int fd, milliseconds timeout) {
  pollfd pfd{fd, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) != 1) return false;
  char c;
  return ::read(fd, &c, 1) == 0;
}

std::string tcpExchange(int fd, const std::string& query) {
  std::string framed{static_cast<char>(query.size() >> 8), static_cast<char>(query.size() & 0xff)};
  framed += query;
  EXPECT_EQ(::write(fd, framed.data(), framed.size()), static_cast<ssize_t>(framed.size()));
  char prefix[2];
  if (!readFull(fd, prefix, 2, milliseconds(3000))) return "";
  std::string reply(static_cast<size_t>(static_cast<uint8_t>(prefix[0]) << 8 | static_cast<uint8_t>(prefix[1])), '\0');
  if (!readFull(fd, reply.data(), reply.size(), milliseconds(3000))) return "";
  return reply;
}

// A UDP socket that never answers; its port is a black-hole upstream.
class SilentUpstream {
 public:
  SilentUpstream() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr = loopback(0);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  Fd fd_;
  uint16_t port_ = 0;
};

Resolver testResolver() {
  static const std::map<std::string, std::vector<uint32_t>, std::less<>> names = {
      {"db", {0x0a000002, 0x0a000003}},
      {"db.mynet", {0x0a000002, 0x0a000003}},
      {"noaddr", {}},
  };
  Resolver r;
  r.forward = [](std::string_view name, uint32_t) {
    if (name == "boom") throw std::runtime_error("lookup exploded");
    auto it = names.find(name);
    return it == names.end() ? LookupResult{} : LookupResult{true, it->second};
  };
  r.reverse = [](uint32_t ip) -> std::optional<std::string> {
    if (ip == 0x0a000002) return "db.mynet";
    return std::nullopt;
  };
  return r;
}

Resolver upstreamResolver() {
  Resolver r;
  r.forward = [](std::string_view name, uint32_t) {
    return name == "up.example" ? LookupResult{true, {0xc0000207}} : LookupResult{};
  };
  return r;
}

class DnsServerTest : public ::testing::Test {
 protected:
  std::unique_ptr<DnsServer> startServer(Resolver resolver, std::vector<std::string> upstreams = {},
                                         DnsServerOptions options = {}) {
    auto server = DnsServer::start(io_.io(), kLoopback, 0, std::move(resolver), std::move(upstreams), options);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    EXPECT_NE((*server)->port(), 0);
    return std::move(*server);
  }

  IoThread io_;  // declared first: servers in tests close before it stops
};

TEST_F(DnsServerTest, AnswersAKnownNameWithAllItsAddresses) {
  auto server = startServer(testResolver());
  ASSERT_TRUE(server);
  std::string reply = udpExchange(server->port(), makeQuery(0x4242, "DB", dns::kTypeA));
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(get16(reply, 0), 0x4242);
  EXPECT_EQ(get16(reply, 2), 0x8180);
  EXPECT_EQ(get16(reply, 6), 2);
  EXPECT_EQ(addresses(reply, "DB"), (std::vector<uint32_t>{0x0a000002, 0x0a000003}));
  EXPECT_EQ(reply.substr(12, 8), makeQuery(0, "DB", dns::kTypeA).substr(12));  // the question, as sent
  // TTL of the first record.
  EXPECT_EQ(get16(reply, 20 + 6), 0);
  EXPECT_EQ(get16(reply, 20 + 8), 600);
}

TEST_F(DnsServerTest, KnownNameWithoutRecordsOfTheTypeIsEmptyNoError) {
  auto server = startServer(testResolver());
  ASSERT_TRUE(server);
  for (uint16_t type : {dns::kTypeAAAA, uint16_t{15}, dns::kTypePTR}) {
    std::string reply = udpExchange(server->port(), makeQuery(7, "db", type));
    ASSERT_GE(reply.size(), 12u) << type;
    EXPECT_EQ(rcode(reply), dns::kRcodeNoError) << type;
    EXPECT_EQ(get16(reply, 4), 1);
    EXPECT_EQ(get16(reply, 6), 0);
  }
  std::string reply = udpExchange(server->port(), makeQuery(8, "noaddr", dns::kTypeA));
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(rcode(reply), dns::kRcodeNoError);
  EXPECT_EQ(get16(reply, 6), 0);
}

TEST_F(DnsServerTest, AnswersPtrForAKnownAddress) {
  auto server = startServer(testResolver());
  ASSERT_TRUE(server);
  std::string query = makeQuery(9, "2.0.0.10.in-addr.arpa", dns::kTypePTR);
  std::string reply = udpExchange(server->port(), query);
  ASSERT_GT(reply.size(), query.size());
  EXPECT_EQ(rcode(reply), dns::kRcodeNoError);
  EXPECT_EQ(get16(reply, 6), 1);
  std::string target = reply.substr(query.size() + 12);
  EXPECT_EQ(target, std::string("\x02" "db" "\x05" "mynet", 9) + std::string(1, '\0'));
}

TEST_F(DnsServerTest, UnknownNameWithoutUpstreamsIsServfail) {
  auto server = startServer(testResolver());
  ASSERT_TRUE(server);
  for (std::string_view name : {"elsewhere.example", "3.0.0.10.in-addr.arpa"}) {
    std::string reply = udpExchange(server->port(), makeQuery(10, name, name.ends_with("arpa") ? 12 : 1));
    ASSERT_GE(reply.size(), 12u) << name;
    EXPECT_EQ(get16(reply, 0), 10);
    EXPECT_EQ(rcode(reply), dns::kRcodeServFail) << name;
  }
}

TEST_F(DnsServerTest, LookupThatThrowsIsServfail) {
  auto server = startServer(testResolver());
  ASSERT_TRUE(server);
  std::string reply = udpExchange(server->port(), makeQuery(11, "boom", dns::kTypeA));
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(rcode(reply), dns::kRcodeServFail);
  EXPECT_EQ(rcode(udpExchange(server->port(), makeQuery(12, "db", dns::kTypeA))), dns::kRcodeNoError);
}

TEST_F(DnsServerTest, ForwardsToTheUpstreamAndRelaysWithTheClientsId) {
  auto upstream = startServer(upstreamResolver());
  ASSERT_TRUE(upstream);
  auto server = startServer(testResolver(), {"127.0.0.1:" + std::to_string(upstream->port())});
  ASSERT_TRUE(server);

  std::string reply = udpExchange(server->port(), makeQuery(0xbeef, "up.example", dns::kTypeA));
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(get16(reply, 0), 0xbeef);
  EXPECT_EQ(rcode(reply), dns::kRcodeNoError);
  EXPECT_EQ(addresses(reply, "up.example"), std::vector<uint32_t>{0xc0000207});

  // The upstream's own answers come back as they are: NOERROR-empty, and
  // SERVFAIL from an upstream that has no upstream of its own.
  reply = udpExchange(server->port(), makeQuery(0xbef0, "up.example", dns::kTypeAAAA));
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(get16(reply, 0), 0xbef0);
  EXPECT_EQ(rcode(reply), dns::kRcodeNoError);
  EXPECT_EQ(get16(reply, 6), 0);
  reply = udpExchange(server->port(), makeQuery(0xbef1, "nowhere.example", dns::kTypeA));
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(get16(reply, 0), 0xbef1);
  EXPECT_EQ(rcode(reply), dns::kRcodeServFail);

  // Local names still win.
  EXPECT_EQ(get16(udpExchange(server->port(), makeQuery(1, "db", dns::kTypeA)), 6), 2);

  // Over TCP too.
  Fd conn = tcpConnect(server->port());
  reply = tcpExchange(conn.get(), makeQuery(0xcafe, "up.example", dns::kTypeA));
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(get16(reply, 0), 0xcafe);
  EXPECT_EQ(addresses(reply, "up.example"), std::vector<uint32_t>{0xc0000207});
}

// An upstream run by the test: it sees the forwarded query, sends a reply
// with the wrong id first (which must be ignored), then the real one.
TEST_F(DnsServerTest, UsesAFreshIdUpstreamAndIgnoresRepliesThatDoNotMatch) {
  Fd up(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr = loopback(0);
  ASSERT_EQ(::bind(up.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(up.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  auto server = startServer(testResolver(), {"127.0.0.1:" + std::to_string(ntohs(addr.sin_port))});
  ASSERT_TRUE(server);

  std::string query = makeQuery(0x1111, "ext.example", dns::kTypeA);
  std::promise<std::string> seen;
  std::thread fake([&] {
    std::string buf(65536, '\0');
    sockaddr_in from{};
    socklen_t fromLen = sizeof from;
    pollfd pfd{up.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 3000) != 1) return seen.set_value("");
    ssize_t n = ::recvfrom(up.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
    buf.resize(static_cast<size_t>(std::max<ssize_t>(n, 0)));
    std::string reply = buf;
    if (reply.size() < 12) return seen.set_value(buf);
    reply[2] = static_cast<char>(0x81);
    reply[3] = static_cast<char>(0x85);  // REFUSED, with the wrong id
    reply[1] = static_cast<char>(reply[1] ^ 1);
    ::sendto(up.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), fromLen);
    reply[1] = static_cast<char>(reply[1] ^ 1);
    reply[3] = static_cast<char>(0x83);  // NXDOMAIN, right id
    ::sendto(up.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), fromLen);
    seen.set_value(buf);
  });
  std::string reply = udpExchange(server->port(), query);
  fake.join();
  std::string forwarded = seen.get_future().get();
  ASSERT_EQ(forwarded.size(), query.size());
  EXPECT_EQ(forwarded.substr(2), query.substr(2));  // unchanged but for the id
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(get16(reply, 0), 0x1111);
  EXPECT_EQ(rcode(reply), dns::kRcodeNxDomain);
}

TEST_F(DnsServerTest, SilentUpstreamIsServfailAfterTheTimeout) {
  SilentUpstream silent;
  DnsServerOptions options;
  options.upstreamTimeout = milliseconds(200);
  auto server = startServer(testResolver(), {silent.address()}, options);
  ASSERT_TRUE(server);
  auto begin = Clock::now();
  std::string reply = udpExchange(server->port(), makeQuery(0x2222, "ext.example", dns::kTypeA));
  auto took = Clock::now() - begin;
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(get16(reply, 0), 0x2222);
  EXPECT_EQ(rcode(reply), dns::kRcodeServFail);
  EXPECT_GE(took, milliseconds(190));
  EXPECT_LT(took, milliseconds(1500));
}

TEST_F(DnsServerTest, TriesTheNextUpstreamWhenOneIsSilent) {
  SilentUpstream silent;
  auto upstream = startServer(upstreamResolver());
  ASSERT_TRUE(upstream);
  DnsServerOptions options;
  options.upstreamTimeout = milliseconds(200);
  auto server = startServer(testResolver(), {silent.address(), "127.0.0.1:" + std::to_string(upstream->port())}, options);
  ASSERT_TRUE(server);
  auto begin = Clock::now();
  std::string reply = udpExchange(server->port(), makeQuery(0x3333, "up.example", dns::kTypeA));
  EXPECT_GE(Clock::now() - begin, milliseconds(190));
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(get16(reply, 0), 0x3333);
  EXPECT_EQ(addresses(reply, "up.example"), std::vector<uint32_t>{0xc0000207});
}

TEST_F(DnsServerTest, TcpAnswersQueriesOneAfterAnother) {
  auto server = startServer(testResolver());
  ASSERT_TRUE(server);
  Fd conn = tcpConnect(server->port());
  for (uint16_t id : {0x0101, 0x0202, 0x0303}) {
    std::string reply = tcpExchange(conn.get(), makeQuery(id, "db", dns::kTypeA));
    ASSERT_GE(reply.size(), 12u);
    EXPECT_EQ(get16(reply, 0), id);
    EXPECT_EQ(addresses(reply, "db"), (std::vector<uint32_t>{0x0a000002, 0x0a000003}));
  }
}

TEST_F(DnsServerTest, LargeAnswerIsTruncatedOverUdpAndCompleteOverTcp) {
  std::vector<uint32_t> many;
  for (uint32_t i = 1; i <= 40; ++i) many.push_back(0x0a000000 + i);
  Resolver resolver;
  resolver.forward = [many](std::string_view name, uint32_t) { return name == "big" ? LookupResult{true, many} : LookupResult{}; };
  auto server = startServer(std::move(resolver));
  ASSERT_TRUE(server);
  std::string udpReply = udpExchange(server->port(), makeQuery(1, "big", dns::kTypeA));
  ASSERT_GE(udpReply.size(), 12u);
  EXPECT_LE(udpReply.size(), 512u);
  EXPECT_EQ(get16(udpReply, 2) & 0x0200, 0x0200);  // TC
  EXPECT_EQ(get16(udpReply, 6), 30);
  Fd conn = tcpConnect(server->port());
  std::string tcpReply = tcpExchange(conn.get(), makeQuery(2, "big", dns::kTypeA));
  ASSERT_GE(tcpReply.size(), 12u);
  EXPECT_EQ(get16(tcpReply, 2) & 0x0200, 0);
  EXPECT_EQ(addresses(tcpReply, "big"), many);
}

TEST_F(DnsServerTest, TcpIdleConnectionsAreClosed) {
  DnsServerOptions options;
  options.tcpIdleTimeout = milliseconds(200);
  auto server = startServer(testResolver(), {}, options);
  ASSERT_TRUE(server);
  Fd conn = tcpConnect(server->port());
  auto begin = Clock::now();
  EXPECT_TRUE(closedByPeer(conn.get(), milliseconds(3000)));
  EXPECT_GE(Clock::now() - begin, milliseconds(150));
}

TEST_F(DnsServerTest, TcpConnectionsAreCapped) {
  DnsServerOptions options;
  options.maxTcpConnections = 2;
  auto server = startServer(testResolver(), {}, options);
  ASSERT_TRUE(server);
  Fd first = tcpConnect(server->port());
  Fd second = tcpConnect(server->port());
  Fd third = tcpConnect(server->port());
  EXPECT_TRUE(closedByPeer(third.get(), milliseconds(3000)));
  EXPECT_EQ(get16(tcpExchange(first.get(), makeQuery(5, "db", dns::kTypeA)), 0), 5);
  EXPECT_EQ(get16(tcpExchange(second.get(), makeQuery(6, "db", dns::kTypeA)), 0), 6);
}

TEST_F(DnsServerTest, MalformedQueriesGetFormErrOrNothing) {
  auto server = startServer(testResolver());
  ASSERT_TRUE(server);
  std::string query = makeQuery(0x5555, "db", dns::kTypeA);

  std::string headerOnly = query.substr(0, 12);
  std::string reply = udpExchange(server->port(), headerOnly);
  ASSERT_EQ(reply.size(), 12u);
  EXPECT_EQ(get16(reply, 0), 0x5555);
  EXPECT_EQ(rcode(reply), dns::kRcodeFormErr);

  std::string update = query;
  update[2] = 0x28;
  reply = udpExchange(server->port(), update);
  ASSERT_EQ(reply.size(), 12u);
  EXPECT_EQ(rcode(reply), dns::kRcodeNotImp);

  std::string response = query;
  response[2] = static_cast<char>(0x81);
  EXPECT_EQ(udpExchange(server->port(), response, milliseconds(300)), "");
  EXPECT_EQ(udpExchange(server->port(), query.substr(0, 5), milliseconds(300)), "");

  // Over TCP a FORMERR is answered; an unreadable header ends the connection.
  Fd conn = tcpConnect(server->port());
  reply = tcpExchange(conn.get(), headerOnly);
  ASSERT_EQ(reply.size(), 12u);
  EXPECT_EQ(rcode(reply), dns::kRcodeFormErr);
  EXPECT_EQ(tcpExchange(conn.get(), "abc"), "");
}

TEST_F(DnsServerTest, SurvivesGarbage) {
  auto server = startServer(testResolver());
  ASSERT_TRUE(server);
  std::mt19937 rng(42);
  Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in to = loopback(server->port());
  std::string base = makeQuery(1, "db.example", dns::kTypeA);
  for (int i = 0; i < 2000; ++i) {
    std::string packet = base.substr(0, rng() % (base.size() + 1));
    for (int flips = static_cast<int>(rng() % 4); flips > 0 && !packet.empty(); --flips) {
      packet[rng() % packet.size()] = static_cast<char>(rng());
    }
    if (i % 3 == 0) packet += std::string(rng() % 64, static_cast<char>(0xc0));
    ::sendto(fd.get(), packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  // The burst may overflow the socket buffer: retry as a resolver would.
  std::string reply;
  for (int attempt = 0; attempt < 5 && reply.empty(); ++attempt) {
    reply = udpExchange(server->port(), makeQuery(0x7777, "db", dns::kTypeA), milliseconds(1000));
  }
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(get16(reply, 0), 0x7777);
}

TEST_F(DnsServerTest, RejectsBadUpstreamsAndTakenPorts) {
  for (const char* bad : {"nope", "1.2.3.4:0", "1.2.3.4:70000", "1.2.3.4:", "1.2.3:53", "[::1]:53", "1.2.3.4:53x"}) {
    auto server = DnsServer::start(io_.io(), kLoopback, 0, testResolver(), {bad});
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  auto first = startServer(testResolver(), {"8.8.8.8", "1.1.1.1:5353"});
  ASSERT_TRUE(first);
  auto second = DnsServer::start(io_.io(), kLoopback, first->port(), testResolver(), {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(DnsServerTest, SkipsIpv6Upstreams) {
  auto upstream = startServer(upstreamResolver());
  ASSERT_TRUE(upstream);
  auto server = startServer(testResolver(), {"::1", "fe80::1%lo", "127.0.0.1:" + std::to_string(upstream->port())});
  ASSERT_TRUE(server);
  std::string reply = udpExchange(server->port(), makeQuery(0x4444, "up.example", dns::kTypeA));
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(addresses(reply, "up.example"), std::vector<uint32_t>{0xc0000207});

  auto onlyV6 = startServer(testResolver(), {"2001:db8::53"});
  ASSERT_TRUE(onlyV6);
  EXPECT_EQ(rcode(udpExchange(onlyV6->port(), makeQuery(1, "up.example", dns::kTypeA))), dns::kRcodeServFail);
}

TEST_F(DnsServerTest, CloseCancelsForwardsInFlightAndStopsAnswering) {
  SilentUpstream silent;
  std::atomic<int> lookups = 0;
  Resolver resolver;
  resolver.forward = [&lookups](std::string_view, uint32_t) {
    ++lookups;
    return LookupResult{};
  };
  auto server = startServer(std::move(resolver), {silent.address()});  // 2 s timeout
  ASSERT_TRUE(server);
  uint16_t port = server->port();
  auto pending = std::async(std::launch::async, [port] {
    return udpExchange(port, makeQuery(1, "ext.example", dns::kTypeA), milliseconds(1000));
  });
  while (lookups == 0) std::this_thread::sleep_for(milliseconds(5));
  auto begin = Clock::now();
  server->close();
  EXPECT_LT(Clock::now() - begin, milliseconds(1000));
  EXPECT_EQ(pending.get(), "");  // no reply once closed
  server->close();               // idempotent
  int before = lookups;
  EXPECT_EQ(udpExchange(port, makeQuery(2, "x", dns::kTypeA), milliseconds(200)), "");
  EXPECT_EQ(lookups, before);
}

TEST_F(DnsServerTest, CloseFromTheIoThreadDoesNotDeadlock) {
  auto server = startServer(testResolver());
  ASSERT_TRUE(server);
  std::promise<void> done;
  boost::asio::post(io_.io(), [&] {
    server.reset();
    done.set_value();
  });
  EXPECT_EQ(done.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

TEST(DnsServerStopped, CloseAfterTheIoContextStopped) {
  IoThread io;
  auto server = DnsServer::start(io.io(), kLoopback, 0, testResolver(), {});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_GE(udpExchange((*server)->port(), makeQuery(1, "db", dns::kTypeA)).size(), 12u);
  io.stop();
  server->reset();  // must not wait for handlers nobody will run
}

}  // namespace
}  // namespace berth::network
