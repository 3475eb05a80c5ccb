#include "network/ipam.h"

#include <arpa/inet.h>

#include <sstream>

#include "util/strings.h"
#include "util/unique_fd.h"

namespace berth::network {

absl::StatusOr<uint32_t> parseIpv4(std::string_view text) {
  in_addr a{};
  std::string s(text);
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return absl::InvalidArgumentError(strCat("invalid IPv4 address: ", text));
  return ntohl(a.s_addr);
}

std::string formatIpv4(uint32_t ip) {
  return strCat(ip >> 24, ".", (ip >> 16) & 255, ".", (ip >> 8) & 255, ".", ip & 255);
}

absl::StatusOr<Ipv4Prefix> parsePrefix(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return absl::InvalidArgumentError(strCat("invalid CIDR address: ", text));
  absl::StatusOr<uint32_t> ip = parseIpv4(text.substr(0, slash));
  std::string_view lenText = text.substr(slash + 1);
  int len = -1;
  if (!lenText.empty() && lenText.size() <= 2 && lenText.find_first_not_of("0123456789") == std::string_view::npos) {
    len = std::stoi(std::string(lenText));
  }
  if (!ip.ok() || len < 0 || len > 32) return absl::InvalidArgumentError(strCat("invalid CIDR address: ", text));
  Ipv4Prefix p{*ip, len};
  if ((*ip & p.mask()) != *ip) {
    p.addr = *ip & p.mask();
    return absl::InvalidArgumentError(strCat("invalid subnet ", text, " : it should be ", formatPrefix(p)));
  }
  return p;
}

std::string formatPrefix(const Ipv4Prefix& p) { return strCat(formatIpv4(p.addr), "/", p.len); }

std::vector<Ipv4Prefix> defaultPoolSubnets() {
  std::vector<Ipv4Prefix> out;
  for (uint32_t b = 17; b <= 31; ++b) out.push_back({(172u << 24) | (b << 16), 16});
  for (uint32_t c = 0; c < 256; c += 16) out.push_back({(192u << 24) | (168u << 16) | (c << 8), 20});
  return out;
}

std::optional<Ipv4Prefix> chooseSubnet(const std::vector<Ipv4Prefix>& taken) {
  for (const Ipv4Prefix& candidate : defaultPoolSubnets()) {
    bool clash = false;
    for (const Ipv4Prefix& t : taken) clash = clash || candidate.overlaps(t);
    if (!clash) return candidate;
  }
  return std::nullopt;
}

std::vector<Ipv4Prefix> hostRoutes() {
  // Iface Destination Gateway Flags RefCnt Use Metric Mask …, hex in network order.
  std::istringstream in(readFileOrEmpty("/proc/net/route"));
  std::vector<Ipv4Prefix> out;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string iface, dest, gw, flags, refcnt, use, metric, mask;
    if (!(f >> iface >> dest >> gw >> flags >> refcnt >> use >> metric >> mask)) continue;
    uint32_t d = ntohl(uint32_t(std::stoul(dest, nullptr, 16)));
    uint32_t m = ntohl(uint32_t(std::stoul(mask, nullptr, 16)));
    if (m == 0) continue;  // the default route covers everything; not a clash
    out.push_back({d & m, __builtin_popcount(m)});
  }
  return out;
}

AddressPool::AddressPool(Ipv4Prefix subnet, uint32_t gateway, std::optional<Ipv4Prefix> range)
    : subnet_(subnet), range_(range.value_or(subnet)), gateway_(gateway), next_(range_.addr) {}

absl::StatusOr<uint32_t> AddressPool::allocate(std::optional<uint32_t> wanted) {
  auto usable = [&](uint32_t ip) {
    if (subnet_.len < 31 && (ip == subnet_.addr || ip == subnet_.broadcast())) return false;
    return ip != gateway_ && !used_.contains(ip);
  };
  if (wanted) {
    if (!subnet_.contains(*wanted)) {
      return absl::InvalidArgumentError(
          strCat("no configured subnet or ip-range contain the IP address ", formatIpv4(*wanted)));
    }
    if (!usable(*wanted)) return absl::FailedPreconditionError("Address already in use");
    used_.insert(*wanted);
    return *wanted;
  }
  uint64_t size = uint64_t(range_.broadcast()) - range_.addr + 1;
  for (uint64_t i = 0; i < size; ++i) {
    uint32_t ip = range_.addr + uint32_t((uint64_t(next_ - range_.addr) + i) % size);
    if (!usable(ip)) continue;
    used_.insert(ip);
    next_ = ip + 1;
    return ip;
  }
  return absl::ResourceExhaustedError(strCat("no available IPv4 addresses on this network's address pools: ",
                                             formatPrefix(subnet_)));
}

}  // namespace berth::network
