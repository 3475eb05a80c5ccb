#include "network/ipam.h"

#include <gtest/gtest.h>

namespace berth::network {
namespace {

uint32_t ip(const char* text) { return *parseIpv4(text); }

TEST(Ipam, ParsesAndFormatsPrefixes) {
  absl::StatusOr<Ipv4Prefix> p = parsePrefix("172.18.0.0/16");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->addr, ip("172.18.0.0"));
  EXPECT_EQ(p->len, 16);
  EXPECT_EQ(formatPrefix(*p), "172.18.0.0/16");
  EXPECT_EQ(formatIpv4(p->broadcast()), "172.18.255.255");
  EXPECT_TRUE(p->contains(ip("172.18.3.4")));
  EXPECT_FALSE(p->contains(ip("172.19.0.1")));
  EXPECT_EQ(parsePrefix("172.18.0.1/16").status().message(), "invalid subnet 172.18.0.1/16 : it should be 172.18.0.0/16");
  for (const char* bad : {"172.18.0.0", "172.18.0.0/33", "172.18.0.0/", "300.1.1.1/8", "10.0.0.0/1x"}) {
    EXPECT_FALSE(parsePrefix(bad).ok()) << bad;
  }
}

TEST(Ipam, ChoosesTheFirstFreeDefaultPool) {
  EXPECT_EQ(formatPrefix(*chooseSubnet({})), "172.17.0.0/16");
  // A host route inside 172.17/16 and another network on 172.18/16.
  std::vector<Ipv4Prefix> taken = {*parsePrefix("172.17.5.0/24"), *parsePrefix("172.18.0.0/16")};
  EXPECT_EQ(formatPrefix(*chooseSubnet(taken)), "172.19.0.0/16");
  // A wide route covering all of 172.16/12 sends it to 192.168.
  EXPECT_EQ(formatPrefix(*chooseSubnet({*parsePrefix("172.16.0.0/12")})), "192.168.0.0/20");
  std::vector<Ipv4Prefix> all = {*parsePrefix("172.16.0.0/12"), *parsePrefix("192.168.0.0/16")};
  EXPECT_FALSE(chooseSubnet(all).has_value());
}

TEST(Ipam, AllocatesSequentiallySkippingReservedAddresses) {
  AddressPool pool(*parsePrefix("10.1.0.0/29"), ip("10.1.0.1"));
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) got.push_back(formatIpv4(*pool.allocate()));
  EXPECT_EQ(got, (std::vector<std::string>{"10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"}));
  EXPECT_EQ(pool.allocate().status().code(), absl::StatusCode::kResourceExhausted);
  // A released address is reused only after the others (dockerd's order).
  pool.release(ip("10.1.0.3"));
  EXPECT_EQ(formatIpv4(*pool.allocate()), "10.1.0.3");
}

TEST(Ipam, HonoursWantedAddressesAndRanges) {
  AddressPool pool(*parsePrefix("10.2.0.0/24"), ip("10.2.0.1"), *parsePrefix("10.2.0.128/25"));
  EXPECT_EQ(formatIpv4(*pool.allocate()), "10.2.0.128");
  EXPECT_EQ(formatIpv4(*pool.allocate(ip("10.2.0.7"))), "10.2.0.7");  // in the subnet, outside the range: allowed
  EXPECT_EQ(pool.allocate(ip("10.2.0.7")).status().message(), "Address already in use");
  EXPECT_EQ(pool.allocate(ip("10.2.0.1")).status().message(), "Address already in use");  // the gateway
  EXPECT_EQ(pool.allocate(ip("10.3.0.7")).status().message(),
            "no configured subnet or ip-range contain the IP address 10.3.0.7");
  pool.reserve(ip("10.2.0.129"));
  EXPECT_EQ(formatIpv4(*pool.allocate()), "10.2.0.130");
}

}  // namespace
}  // namespace berth::network
