#include "util/host_sockets.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <span>
#include <thread>
#include <vector>

#include "util/fd_passing.h"

namespace berth {
namespace {

int socketType(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  EXPECT_EQ(::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
  return type;
}

TEST(HostSockets, ParentMakesTheSocketsTheChildAsksFor) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd parentEnd(pair[0]);
  std::thread parent([fd = parentEnd.get()] {
    while (serveHostSocketRequest(fd)) {
    }
  });
  EXPECT_FALSE(hostSocketsFromParent());
  useHostSocketChannel(UniqueFd(pair[1]));
  EXPECT_TRUE(hostSocketsFromParent());

  auto tcp = hostSocket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  ASSERT_TRUE(tcp.ok()) << tcp.status();
  EXPECT_EQ(socketType(tcp->get()), SOCK_STREAM);
  EXPECT_NE(::fcntl(tcp->get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(tcp->get(), F_GETFD) & FD_CLOEXEC, 0);

  auto udp = hostSocket(AF_INET6, SOCK_DGRAM);
  ASSERT_TRUE(udp.ok()) << udp.status();
  EXPECT_EQ(socketType(udp->get()), SOCK_DGRAM);
  EXPECT_EQ(::fcntl(udp->get(), F_GETFL) & O_NONBLOCK, 0);

  // The parent's errno comes back as the status.
  auto bad = hostSocket(12345, SOCK_STREAM);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("host side"), std::string::npos) << bad.status();

  ::shutdown(parentEnd.get(), SHUT_RDWR);  // ends the parent's loop
  parent.join();
  EXPECT_FALSE(hostSocket(AF_INET, SOCK_STREAM).ok());
  useHostSocketChannel(UniqueFd());
  EXPECT_FALSE(hostSocketsFromParent());
  EXPECT_TRUE(hostSocket(AF_INET, SOCK_STREAM).ok());
}

// A rootless daemon relays its HTTP helper's requests to its own parent:
// the socket comes from the parent, the error from the relay.
TEST(HostSockets, RelayAsksItsOwnParent) {
  int up[2], down[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, up), 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, down), 0);
  UniqueFd parentEnd(up[0]), relayEnd(down[0]), helperEnd(down[1]);
  int parentServed = 0;
  std::thread parent([fd = parentEnd.get(), &parentServed] {
    while (serveHostSocketRequest(fd)) ++parentServed;
  });
  useHostSocketChannel(UniqueFd(up[1]));
  std::thread relay([fd = relayEnd.get()] {
    while (serveHostSocketRequest(fd, SocketSource::kRelayToParent)) {
    }
  });

  // What hostSocket() sends: domain, type, protocol.
  auto ask = [&](int32_t domain, int32_t type, int& fd) {
    int32_t req[3] = {domain, type, 0};
    EXPECT_EQ(::send(helperEnd.get(), req, sizeof req, 0), ssize_t(sizeof req));
    int32_t err = -1;
    std::vector<UniqueFd> fds;
    absl::StatusOr<size_t> n = receiveWithFds(helperEnd.get(), std::span(reinterpret_cast<char*>(&err), sizeof err), fds);
    EXPECT_TRUE(n.ok() && *n == sizeof err);
    fd = fds.empty() ? -1 : fds.front().release();
    return err;
  };
  int fd = -1;
  EXPECT_EQ(ask(AF_INET, SOCK_DGRAM, fd), 0);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(socketType(fd), SOCK_DGRAM);
  ::close(fd);
  EXPECT_EQ(ask(12345, SOCK_STREAM, fd), EIO);
  EXPECT_EQ(fd, -1);

  ::shutdown(helperEnd.get(), SHUT_RDWR);
  relay.join();
  ::shutdown(parentEnd.get(), SHUT_RDWR);
  parent.join();
  EXPECT_EQ(parentServed, 2) << "both requests went to the parent";
  useHostSocketChannel(UniqueFd());
}

}  // namespace
}  // namespace berth
