#include "api/server/listen_address.h"

#include <gtest/gtest.h>

namespace berth::api::server {
namespace {

using Kind = ListenAddress::Kind;

TEST(ListenAddress, Unix) {
  auto a = parseListenAddress("unix:///run/berth/berth.sock", false);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, Kind::Unix);
  EXPECT_EQ(a->path, "/run/berth/berth.sock");
  EXPECT_FALSE(parseListenAddress("unix://relative.sock", false).ok());
}

TEST(ListenAddress, TcpDefaultsPortsByTls) {
  auto plain = parseListenAddress("tcp://127.0.0.1", false);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, 2375);
  auto tls = parseListenAddress("tcp://127.0.0.1", true);
  EXPECT_EQ(tls->port, 2376);
  auto all = parseListenAddress("tcp://:2380", false);
  EXPECT_EQ(all->host, "0.0.0.0");
  EXPECT_EQ(all->port, 2380);
  auto v6 = parseListenAddress("tcp://[::1]:2390", false);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->toString(), "tcp://[::1]:2390");
  EXPECT_FALSE(parseListenAddress("tcp://127.0.0.1:99999", false).ok());
  EXPECT_FALSE(parseListenAddress("tcp://::1:80", false).ok());
  EXPECT_FALSE(parseListenAddress("http://127.0.0.1", false).ok());
}

TEST(ListenAddress, Fd) {
  auto all = parseListenAddress("fd://", false);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->kind, Kind::Fd);
  EXPECT_FALSE(all->fd.has_value());
  EXPECT_EQ(parseListenAddress("fd://4", false)->fd, 4);
  EXPECT_FALSE(parseListenAddress("fd://2", false).ok());
  EXPECT_FALSE(parseListenAddress("fd://x", false).ok());
}

TEST(ListenAddress, Loopback) {
  for (const char* h : {"127.0.0.1", "127.9.9.9", "::1", "localhost"}) EXPECT_TRUE(isLoopbackHost(h)) << h;
  for (const char* h : {"0.0.0.0", "10.0.0.1", "::", "example.com", "128.0.0.1"}) EXPECT_FALSE(isLoopbackHost(h)) << h;
}

}  // namespace
}  // namespace berth::api::server
