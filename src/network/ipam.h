#pragma once
// IPv4 address management for local networks: prefixes, the pools a new
// network's subnet is taken from (dockerd's defaults, avoiding the host's
// routes and other networks), and one network's address allocator.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::network {

struct Ipv4Prefix {
  uint32_t addr = 0;  // the network address, host byte order
  int len = 0;

  uint32_t mask() const { return len == 0 ? 0 : ~uint32_t(0) << (32 - len); }
  bool contains(uint32_t ip) const { return (ip & mask()) == addr; }
  bool overlaps(const Ipv4Prefix& o) const { return contains(o.addr) || o.contains(addr); }
  uint32_t broadcast() const { return addr | ~mask(); }
  bool operator==(const Ipv4Prefix&) const = default;
};

absl::StatusOr<uint32_t> parseIpv4(std::string_view text);
std::string formatIpv4(uint32_t ip);
// "172.18.0.0/16"; "172.18.0.1/16" is an error naming the network meant, as in dockerd.
absl::StatusOr<Ipv4Prefix> parsePrefix(std::string_view text);
std::string formatPrefix(const Ipv4Prefix& p);

// dockerd's default address pools: 172.17–31.0.0/16, then 192.168.0–240.0/20.
std::vector<Ipv4Prefix> defaultPoolSubnets();
// The first default pool subnet overlapping none of `taken`.
std::optional<Ipv4Prefix> chooseSubnet(const std::vector<Ipv4Prefix>& taken);
// The destinations of the host's IPv4 routes (/proc/net/route), default route excluded.
std::vector<Ipv4Prefix> hostRoutes();

// One network's addresses: the network and broadcast addresses and the
// gateway are never handed out; allocation is sequential from the last one
// (as dockerd), so a released address is not reused at once.
class AddressPool {
 public:
  AddressPool(Ipv4Prefix subnet, uint32_t gateway, std::optional<Ipv4Prefix> range = std::nullopt);

  // `wanted`: that address or an error (outside the subnet, taken).
  absl::StatusOr<uint32_t> allocate(std::optional<uint32_t> wanted = std::nullopt);
  // Marks an address in use (addresses of running containers after a restart).
  void reserve(uint32_t ip) { used_.insert(ip); }
  void release(uint32_t ip) { used_.erase(ip); }
  bool inUse(uint32_t ip) const { return used_.contains(ip); }

 private:
  Ipv4Prefix subnet_;
  Ipv4Prefix range_;
  uint32_t gateway_;
  uint32_t next_;
  std::set<uint32_t> used_;
};

}  // namespace berth::network
