#include "network/firewall.h"

#include "util/process.h"
#include "util/strings.h"

namespace berth::network {

namespace {

std::string quoted(const std::string& name) { return "\"" + name + "\""; }

}  // namespace

std::string renderFirewall(const std::string& table, const std::vector<BridgeRules>& bridges,
                           const std::vector<PortRule>& ports, bool fromElsewhere) {
  // "add table" first so that the delete never fails on a missing table.
  std::string out = strCat("add table ip ", table, "\ndelete table ip ", table, "\n");
  if (bridges.empty()) return out;
  out += strCat("table ip ", table, " {\n");
  out += "  chain forward {\n    type filter hook forward priority filter; policy accept;\n";
  // A published port answers whoever reaches the host, other networks' containers too.
  if (!ports.empty()) out += "    ct status dnat accept\n";
  for (const BridgeRules& b : bridges) {
    std::string br = quoted(b.bridge);
    if (!b.interContainer) out += strCat("    iifname ", br, " oifname ", br, " drop\n");
    if (b.internal) {
      out += strCat("    iifname ", br, " oifname != ", br, " drop\n");
      out += strCat("    oifname ", br, " iifname != ", br, " drop\n");
    }
    // Isolation: nothing is forwarded from one Berth network into another.
    std::string others;
    for (const BridgeRules& o : bridges) {
      if (o.bridge != b.bridge) others += (others.empty() ? "" : ", ") + quoted(o.bridge);
    }
    if (!others.empty()) out += strCat("    iifname ", br, " oifname { ", others, " } drop\n");
  }
  out += "  }\n";
  std::string all;
  for (const BridgeRules& b : bridges) all += (all.empty() ? "" : ", ") + quoted(b.bridge);
  // Always, for route_localnet stays on a bridge as long as the bridge does.
  out += "  chain guard {\n    type filter hook prerouting priority raw; policy accept;\n";
  out += strCat("    iifname { ", all, " } ip daddr 127.0.0.0/8 drop\n");
  out += strCat("    iifname { ", all, " } ip saddr 127.0.0.0/8 drop\n  }\n");
  if (!ports.empty()) {
    out += "  chain published {\n";
    for (const PortRule& p : ports) {
      std::string to = p.hostIp ? strCat("ip daddr ", formatIpv4(p.hostIp), " ") : std::string();
      out += strCat("    ", to, p.proto, " dport ", p.hostPort, " dnat to ", formatIpv4(p.containerIp), ":",
                    p.containerPort, "\n");
    }
    out += "  }\n";
    // From elsewhere, and from this host itself (the output hook).
    if (fromElsewhere) {
      out += "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n";
      out += "    fib daddr type local jump published\n  }\n";
    }
    out += "  chain output {\n    type nat hook output priority -100; policy accept;\n";
    out += "    fib daddr type local jump published\n  }\n";
  }
  out += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
  for (const BridgeRules& b : bridges) {
    if (b.internal || !b.masquerade) continue;
    out += strCat("    ip saddr ", formatPrefix(b.subnet), " oifname != ", quoted(b.bridge), " masquerade\n");
  }
  if (!ports.empty()) {
    // A container cannot answer 127.0.0.1, nor, without the gateway in between,
    // a neighbour on its own bridge that reached it through a published port.
    out += strCat("    oifname { ", all, " } ip saddr 127.0.0.0/8 masquerade\n");
    for (const BridgeRules& b : bridges) {
      out += strCat("    iifname ", quoted(b.bridge), " oifname ", quoted(b.bridge), " ct status dnat masquerade\n");
    }
  }
  out += "  }\n}\n";
  return out;
}

absl::Status applyFirewall(const std::string& script) {
  absl::StatusOr<std::string> out = runProgram({"nft", "-f", "-"}, script);
  return out.status();
}

}  // namespace berth::network
