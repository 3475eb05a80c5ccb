#pragma once
// The few rtnetlink requests local networking needs (libmnl): bridges, veth
// pairs with one end created straight inside a container's namespace,
// addresses, routes. A Netlink object is bound to the network namespace it
// was opened in, so the daemon configures a container's namespace without
// any of its threads staying there.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

struct mnl_socket;
struct nlmsghdr;

namespace berth::network {

class Netlink {
 public:
  // In the calling thread's network namespace.
  static absl::StatusOr<Netlink> open();
  // In the namespace `netnsFd` refers to (opened from a short-lived thread).
  static absl::StatusOr<Netlink> openIn(int netnsFd);
  Netlink(Netlink&&) noexcept;
  Netlink& operator=(Netlink&&) noexcept;
  ~Netlink();

  // NotFound when there is no such link.
  absl::StatusOr<int> linkIndex(const std::string& name);
  absl::Status createBridge(const std::string& name);
  // A veth pair: `name` here, `peerName` created in the namespace `peerNetnsFd`.
  absl::Status createVeth(const std::string& name, const std::string& peerName, int peerNetnsFd);
  absl::Status deleteLink(const std::string& name);  // absent is fine
  absl::Status setUp(const std::string& name);
  absl::Status setMaster(const std::string& name, const std::string& bridge);
  absl::Status setMac(const std::string& name, const uint8_t mac[6]);
  absl::Status addAddress(const std::string& name, uint32_t ip, int prefixLen);  // existing is fine
  absl::Status addDefaultRoute(uint32_t gateway);
  // Table `table` delivers every IPv4 destination locally ("local 0.0.0.0/0
  // dev lo"), for packets to addresses that transparent sockets stand in for.
  absl::Status addLocalDeliveryTable(uint32_t table);  // existing is fine
  absl::Status deleteLocalDeliveryTable(uint32_t table);  // absent is fine
  // The policy rule "from `source` ipproto `proto` sport `port` lookup `table`",
  // at `priority`. Adding an existing one and deleting an absent one are fine.
  absl::Status sourcePortRule(bool add, uint32_t source, uint8_t proto, uint16_t port, uint32_t table,
                              uint32_t priority);
  struct SourcePortRule {
    uint32_t source = 0;
    uint8_t proto = 0;
    uint16_t port = 0;
    uint32_t priority = 0;
  };
  // The IPv4 rules of that shape that look up `table`.
  absl::StatusOr<std::vector<SourcePortRule>> sourcePortRules(uint32_t table);

 private:
  explicit Netlink(mnl_socket* sock);
  // Sends one request and waits for its acknowledgement.
  absl::Status request(nlmsghdr* nlh, const std::string& what);
  // request() where adding an existing object or deleting an absent one is fine.
  absl::Status change(nlmsghdr* nlh, bool add, const std::string& what);
  absl::Status localDeliveryRoute(bool add, uint32_t table);
  absl::Status setLink(const std::string& name, unsigned flags, unsigned change, const std::string* master,
                       const uint8_t* mac);

  mnl_socket* sock_ = nullptr;
  uint32_t seq_ = 0;
  uint32_t portId_ = 0;
};

// A MAC address for an IPv4 address, as dockerd made them: 02:42 and the four bytes.
void macForIp(uint32_t ip, uint8_t mac[6]);
std::string formatMac(const uint8_t mac[6]);

}  // namespace berth::network
