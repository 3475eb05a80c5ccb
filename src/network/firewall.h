#pragma once
// Berth's packet-filter rules, all in one nftables table ("ip berth") that
// is rewritten whole, atomically, whenever the set of bridges changes, and
// deleted when none is left — so nothing of ours ever lingers among the
// host's own rules.
#include <cstdint>
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

// A published port the kernel carries (DNAT, as dockerd without its userland
// proxy): connections and datagrams to hostIp:hostPort — any of this host's
// addresses when hostIp is 0 — go to containerIp:containerPort.
struct PortRule {
  std::string proto;  // "tcp" or "udp"
  uint32_t hostIp = 0;
  uint16_t hostPort = 0;
  uint32_t containerIp = 0;
  uint16_t containerPort = 0;
};

// The nft script that replaces the table `table` (of family ip) with rules
// for `bridges` and `ports` (no bridges: a script that deletes the table).
// With ports, the bridges need route_localnet (a connection to 127.0.0.1 is
// DNATed out through them); the script always drops anything addressed to or
// from 127.0.0.0/8 that arrives on a bridge, which route_localnet would let in.
// `fromElsewhere` false: the rules take only connections this host makes
// itself (without IP forwarding, DNAT could not pass on the others).
std::string renderFirewall(const std::string& table, const std::vector<BridgeRules>& bridges,
                           const std::vector<PortRule>& ports = {}, bool fromElsewhere = true);
// Runs the script through nft(8).
absl::Status applyFirewall(const std::string& script);

}  // namespace berth::network
