#include "util/host_sockets.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <thread>

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

}  // namespace
}  // namespace berth
