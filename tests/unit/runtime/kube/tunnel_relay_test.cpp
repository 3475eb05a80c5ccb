#include "runtime/kube/tunnel_relay.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <thread>

#include "util/unique_fd.h"

namespace berth::runtime::kube {
namespace {

struct Pair {
  UniqueFd a, b;
  Pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    a.reset(sv[0]);
    b.reset(sv[1]);
  }
};

std::string readAll(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, size_t(n));
  return out;
}

// Pod client ↔ broker relay ↔ tunnel ↔ Berth relay ↔ API: the client's
// half-close reaches the API as one, while the answer still flows back.
TEST(TunnelRelay, AHalfCloseCrossesTheTunnelInBand) {
  Pair client, tunnel, api;
  std::thread pod([&] { relayTunnel(client.b.get(), tunnel.a.get(), true); tunnel.a.reset(); client.b.reset(); });
  std::thread berth([&] { relayTunnel(api.a.get(), tunnel.b.get(), false); tunnel.b.reset(); api.a.reset(); });
  std::string request(100000, 'x');  // more than one read
  ASSERT_TRUE(sendAll(client.a.get(), request));
  ::shutdown(client.a.get(), SHUT_WR);
  EXPECT_EQ(readAll(api.b.get()), request);  // ends: the half-close arrived
  ASSERT_TRUE(sendAll(api.b.get(), "answer after the client's end"));
  api.b.reset();  // the API closes: the tunnel and the client's connection end
  EXPECT_EQ(readAll(client.a.get()), "answer after the client's end");
  pod.join();
  berth.join();
}

}  // namespace
}  // namespace berth::runtime::kube
