#pragma once
// The kernel's connection tracking, for DNATed published ports: a UDP "flow"
// is remembered for as long as datagrams keep coming (and 30–120 s after),
// DNATed to the address it first went to. When a published UDP port goes,
// its flows must go too, or a client that keeps its socket keeps sending to
// a container that is no longer there (dockerd does the same).
#include <cstdint>

#include "absl/status/statusor.h"

namespace berth::network {

// Deletes the conntrack entries (this network namespace, IPv4) of UDP flows
// whose replies come from ip:port; returns how many went. No entry is fine.
absl::StatusOr<int> forgetUdpFlowsFrom(uint32_t ip, uint16_t port);

}  // namespace berth::network
