#include "network/firewall.h"

#include "util/process.h"
#include "util/strings.h"

namespace berth::network {

namespace {

std::string quoted(const std::string& name) { return "\"" + name + "\""; }

}  // namespace

std::string renderFirewall(const std::string& table, const std::vector<BridgeRules>& bridges) {
  // "add table" first so that the delete never fails on a missing table.
  std::string out = strCat("add table ip ", table, "\ndelete table ip ", table, "\n");
  if (bridges.empty()) return out;
  out += strCat("table ip ", table, " {\n");
  out += "  chain forward {\n    type filter hook forward priority filter; policy accept;\n";
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
  out += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
  for (const BridgeRules& b : bridges) {
    if (b.internal || !b.masquerade) continue;
    out += strCat("    ip saddr ", formatPrefix(b.subnet), " oifname != ", quoted(b.bridge), " masquerade\n");
  }
  out += "  }\n}\n";
  return out;
}

absl::Status applyFirewall(const std::string& script) {
  absl::StatusOr<std::string> out = runProgram({"nft", "-f", "-"}, script);
  return out.status();
}

}  // namespace berth::network
