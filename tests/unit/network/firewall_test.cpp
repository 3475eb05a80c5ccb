#include "network/firewall.h"

#include <gtest/gtest.h>

namespace berth::network {
namespace {

TEST(Firewall, NoBridgesDeletesTheTable) {
  EXPECT_EQ(renderFirewall("berth", {}), "add table ip berth\ndelete table ip berth\n");
}

TEST(Firewall, IsolatesNetworksAndMasqueradesAllButInternalOnes) {
  std::vector<BridgeRules> rules = {
      {"berth0", *parsePrefix("172.17.0.0/16"), false, true, true},
      {"br-1", *parsePrefix("172.18.0.0/16"), true, true, true},
      {"br-2", *parsePrefix("172.19.0.0/16"), false, true, false},
  };
  EXPECT_EQ(renderFirewall("berth", rules),
            "add table ip berth\n"
            "delete table ip berth\n"
            "table ip berth {\n"
            "  chain forward {\n"
            "    type filter hook forward priority filter; policy accept;\n"
            "    iifname \"berth0\" oifname { \"br-1\", \"br-2\" } drop\n"
            "    iifname \"br-1\" oifname != \"br-1\" drop\n"
            "    oifname \"br-1\" iifname != \"br-1\" drop\n"
            "    iifname \"br-1\" oifname { \"berth0\", \"br-2\" } drop\n"
            "    iifname \"br-2\" oifname \"br-2\" drop\n"
            "    iifname \"br-2\" oifname { \"berth0\", \"br-1\" } drop\n"
            "  }\n"
            "  chain guard {\n"
            "    type filter hook prerouting priority raw; policy accept;\n"
            "    iifname { \"berth0\", \"br-1\", \"br-2\" } ip daddr 127.0.0.0/8 drop\n"
            "    iifname { \"berth0\", \"br-1\", \"br-2\" } ip saddr 127.0.0.0/8 drop\n"
            "  }\n"
            "  chain postrouting {\n"
            "    type nat hook postrouting priority srcnat; policy accept;\n"
            "    ip saddr 172.17.0.0/16 oifname != \"berth0\" masquerade\n"
            "    ip saddr 172.19.0.0/16 oifname != \"br-2\" masquerade\n"
            "  }\n"
            "}\n");
}

TEST(Firewall, PublishedPortsAreDnatedWithLoopbackGuarded) {
  std::vector<BridgeRules> bridges = {
      {"berth0", *parsePrefix("172.17.0.0/16"), false, true, true},
      {"br-1", *parsePrefix("172.18.0.0/16"), false, false, true},
  };
  std::vector<PortRule> ports = {
      {"tcp", 0, 8080, *parseIpv4("172.17.0.2"), 80},
      {"udp", *parseIpv4("127.0.0.1"), 5353, *parseIpv4("172.18.0.3"), 53},
  };
  const std::string head =
      "add table ip berth\n"
      "delete table ip berth\n"
      "table ip berth {\n"
      "  chain forward {\n"
      "    type filter hook forward priority filter; policy accept;\n"
      "    ct status dnat accept\n"
      "    iifname \"berth0\" oifname { \"br-1\" } drop\n"
      "    iifname \"br-1\" oifname { \"berth0\" } drop\n"
      "  }\n"
      "  chain guard {\n"
      "    type filter hook prerouting priority raw; policy accept;\n"
      "    iifname { \"berth0\", \"br-1\" } ip daddr 127.0.0.0/8 drop\n"
      "    iifname { \"berth0\", \"br-1\" } ip saddr 127.0.0.0/8 drop\n"
      "  }\n"
      "  chain published {\n"
      "    tcp dport 8080 dnat to 172.17.0.2:80\n"
      "    ip daddr 127.0.0.1 udp dport 5353 dnat to 172.18.0.3:53\n"
      "  }\n";
  const std::string prerouting =
      "  chain prerouting {\n"
      "    type nat hook prerouting priority dstnat; policy accept;\n"
      "    fib daddr type local jump published\n"
      "  }\n";
  const std::string tail =
      "  chain output {\n"
      "    type nat hook output priority -100; policy accept;\n"
      "    fib daddr type local jump published\n"
      "  }\n"
      "  chain postrouting {\n"
      "    type nat hook postrouting priority srcnat; policy accept;\n"
      "    ip saddr 172.17.0.0/16 oifname != \"berth0\" masquerade\n"
      "    oifname { \"berth0\", \"br-1\" } ip saddr 127.0.0.0/8 masquerade\n"
      "    iifname \"berth0\" oifname \"berth0\" ct status dnat masquerade\n"
      "    iifname \"br-1\" oifname \"br-1\" ct status dnat masquerade\n"
      "  }\n"
      "}\n";
  EXPECT_EQ(renderFirewall("berth", bridges, ports), head + prerouting + tail);
  // Without IP forwarding only this host's own connections are taken.
  EXPECT_EQ(renderFirewall("berth", bridges, ports, false), head + tail);
}

}  // namespace
}  // namespace berth::network
