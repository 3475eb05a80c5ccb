#pragma once
// Berth's packet-filter rules, all in one nftables table ("ip berth") that
// is rewritten whole, atomically, whenever the set of bridges changes, and
// deleted when none is left — so nothing of ours ever lingers among the
// host's own rules.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "network/ipam.h"

namespace berth::network {

struct BridgeRules {
  std::string bridge;
  Ipv4Prefix subnet;
  bool internal = false;    // no traffic leaves or enters the bridge from elsewhere
  bool masquerade = true;   // outbound NAT (com.docker.network.bridge.enable_ip_masquerade)
  bool interContainer = true;  // containers on the bridge talk to each other (enable_icc)
};

// The nft script that replaces the table `table` (of family ip) with rules
// for `bridges` (an empty list: a script that deletes the table).
std::string renderFirewall(const std::string& table, const std::vector<BridgeRules>& bridges);
// Runs the script through nft(8).
absl::Status applyFirewall(const std::string& script);

}  // namespace berth::network
