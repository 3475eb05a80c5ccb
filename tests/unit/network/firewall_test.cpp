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
            "  chain postrouting {\n"
            "    type nat hook postrouting priority srcnat; policy accept;\n"
            "    ip saddr 172.17.0.0/16 oifname != \"berth0\" masquerade\n"
            "    ip saddr 172.19.0.0/16 oifname != \"br-2\" masquerade\n"
            "  }\n"
            "}\n");
}

}  // namespace
}  // namespace berth::network
