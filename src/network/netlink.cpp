#include "network/netlink.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <net/if.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "network/ipam.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::network {

namespace {

absl::Status fromErrno(int err, const std::string& what) {
  std::string msg = strCat(what, ": ", strerror(err));
  switch (err) {
    case ENODEV:
    case ENOENT:
    case ESRCH:  // deleting a route that is not there
      return absl::NotFoundError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case EPERM:
    case EACCES:
      return absl::PermissionDeniedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

mnl_socket* openSocket(int& err) {
  mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!s) {
    err = errno;
    return nullptr;
  }
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    err = errno;
    mnl_socket_close(s);
    return nullptr;
  }
  return s;
}

// An RTM_*LINK request for the interface `name`, its ifinfomsg in place.
nlmsghdr* linkMessage(char* buf, uint16_t type, uint16_t flags, const std::string& name) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  return nlh;
}

// The header of a request that adds (`newType`, failing on an existing one)
// or deletes (`delType`) one object.
nlmsghdr* changeMessage(char* buf, bool add, uint16_t newType, uint16_t delType) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = add ? newType : delType;
  nlh->nlmsg_flags = add ? NLM_F_CREATE | NLM_F_EXCL : 0;
  return nlh;
}

}  // namespace

Netlink::Netlink(mnl_socket* sock) : sock_(sock), seq_(uint32_t(::time(nullptr))), portId_(mnl_socket_get_portid(sock)) {}
Netlink::Netlink(Netlink&& o) noexcept : sock_(o.sock_), seq_(o.seq_), portId_(o.portId_) { o.sock_ = nullptr; }
Netlink& Netlink::operator=(Netlink&& o) noexcept {
  if (this != &o) {
    if (sock_) mnl_socket_close(sock_);
    sock_ = o.sock_;
    seq_ = o.seq_;
    portId_ = o.portId_;
    o.sock_ = nullptr;
  }
  return *this;
}
Netlink::~Netlink() {
  if (sock_) mnl_socket_close(sock_);
}

absl::StatusOr<Netlink> Netlink::open() {
  int err = 0;
  mnl_socket* s = openSocket(err);
  if (!s) return fromErrno(err, "opening rtnetlink");
  return Netlink(s);
}

absl::StatusOr<Netlink> Netlink::openIn(int netnsFd) {
  // A socket belongs to the namespace it was created in; only this
  // throw-away thread ever enters the container's namespace.
  mnl_socket* s = nullptr;
  int err = 0;
  std::thread t([&] {
    if (::setns(netnsFd, CLONE_NEWNET) != 0) {
      err = errno;
      return;
    }
    s = openSocket(err);
  });
  t.join();
  if (!s) return fromErrno(err, "opening rtnetlink in the container's network namespace");
  return Netlink(s);
}

absl::Status Netlink::request(nlmsghdr* nlh, const std::string& what) {
  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = ++seq_;
  if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0) return fromErrno(errno, what);
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock_, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fromErrno(errno, what);
    }
    int rc = mnl_cb_run(buf.data(), size_t(n), seq_, portId_, nullptr, nullptr);
    if (rc == MNL_CB_ERROR) return fromErrno(errno, what);
    if (rc == MNL_CB_STOP) return absl::OkStatus();
  }
}

absl::StatusOr<int> Netlink::linkIndex(const std::string& name) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = linkMessage(buf, RTM_GETLINK, NLM_F_REQUEST, name);
  nlh->nlmsg_seq = ++seq_;
  if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0) return fromErrno(errno, "looking up " + name);
  int index = 0;
  auto onMessage = [](const nlmsghdr* m, void* data) -> int {
    if (m->nlmsg_type == RTM_NEWLINK) {
      *static_cast<int*>(data) = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(m))->ifi_index;
    }
    return MNL_CB_OK;
  };
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock_, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fromErrno(errno, "looking up " + name);
    }
    int rc = mnl_cb_run(buf, size_t(n), seq_, portId_, onMessage, &index);
    if (rc == MNL_CB_ERROR) return fromErrno(errno, "looking up " + name);
    if (index > 0 || rc == MNL_CB_STOP) break;
  }
  if (index <= 0) return absl::NotFoundError(strCat("no network interface ", name));
  return index;
}

absl::Status Netlink::createBridge(const std::string& name) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = linkMessage(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, name);
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(nlh, info);
  absl::Status st = request(nlh, "creating bridge " + name);
  if (st.code() == absl::StatusCode::kAlreadyExists) return absl::OkStatus();
  return st;
}

absl::Status Netlink::createVeth(const std::string& name, const std::string& peerName, int peerNetnsFd) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = linkMessage(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, name);
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  nlattr* peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  auto* peerIfi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  peerIfi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, peerName.c_str());
  mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, uint32_t(peerNetnsFd));
  mnl_attr_nest_end(nlh, peer);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, info);
  return request(nlh, strCat("creating veth pair ", name));
}

absl::Status Netlink::deleteLink(const std::string& name) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = linkMessage(buf, RTM_DELLINK, 0, name);
  absl::Status st = request(nlh, "deleting " + name);
  if (st.code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  return st;
}

absl::Status Netlink::setLink(const std::string& name, unsigned flags, unsigned change, const std::string* master,
                              const uint8_t* mac) {
  int masterIndex = 0;
  if (master) {
    absl::StatusOr<int> m = linkIndex(*master);
    if (!m.ok()) return m.status();
    masterIndex = *m;
  }
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = linkMessage(buf, RTM_NEWLINK, 0, name);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  ifi->ifi_flags = flags;
  ifi->ifi_change = change;
  if (master) mnl_attr_put_u32(nlh, IFLA_MASTER, uint32_t(masterIndex));
  if (mac) mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
  return request(nlh, "configuring " + name);
}

absl::Status Netlink::setUp(const std::string& name) { return setLink(name, IFF_UP, IFF_UP, nullptr, nullptr); }
absl::Status Netlink::setMaster(const std::string& name, const std::string& bridge) {
  return setLink(name, 0, 0, &bridge, nullptr);
}
absl::Status Netlink::setMac(const std::string& name, const uint8_t mac[6]) {
  return setLink(name, 0, 0, nullptr, mac);
}

absl::Status Netlink::addAddress(const std::string& name, uint32_t ip, int prefixLen) {
  absl::StatusOr<int> index = linkIndex(name);
  if (!index.ok()) return index.status();
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_NEWADDR;
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = uint8_t(prefixLen);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = unsigned(*index);
  uint32_t be = htonl(ip);
  mnl_attr_put_u32(nlh, IFA_LOCAL, be);
  mnl_attr_put_u32(nlh, IFA_ADDRESS, be);
  uint32_t broadcast = Ipv4Prefix{ip, prefixLen}.broadcast();
  if (prefixLen < 31) mnl_attr_put_u32(nlh, IFA_BROADCAST, htonl(broadcast));
  absl::Status st = request(nlh, "adding an address to " + name);
  if (st.code() == absl::StatusCode::kAlreadyExists) return absl::OkStatus();
  return st;
}

absl::Status Netlink::addDefaultRoute(uint32_t gateway) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_NEWROUTE;
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = 0;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gateway));
  absl::Status st = request(nlh, "adding the default route");
  if (st.code() == absl::StatusCode::kAlreadyExists) return absl::OkStatus();
  return st;
}

absl::Status Netlink::change(nlmsghdr* nlh, bool add, const std::string& what) {
  absl::Status st = request(nlh, (add ? "adding " : "deleting ") + what);
  if (add && st.code() == absl::StatusCode::kAlreadyExists) return absl::OkStatus();
  if (!add && st.code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  return st;
}

absl::Status Netlink::addLocalDeliveryTable(uint32_t table) { return localDeliveryRoute(true, table); }
absl::Status Netlink::deleteLocalDeliveryTable(uint32_t table) { return localDeliveryRoute(false, table); }

absl::Status Netlink::localDeliveryRoute(bool add, uint32_t table) {
  BERTH_ASSIGN_OR_RETURN(int lo, linkIndex("lo"));
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = changeMessage(buf, add, RTM_NEWROUTE, RTM_DELROUTE);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = 0;
  rtm->rtm_table = RT_TABLE_UNSPEC;  // the number travels in RTA_TABLE: it may exceed 255
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_HOST;
  rtm->rtm_type = RTN_LOCAL;
  mnl_attr_put_u32(nlh, RTA_TABLE, table);
  mnl_attr_put_u32(nlh, RTA_OIF, uint32_t(lo));
  return change(nlh, add, "the local delivery route");
}

absl::Status Netlink::sourcePortRule(bool add, uint32_t source, uint8_t proto, uint16_t port, uint32_t table,
                                     uint32_t priority) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = changeMessage(buf, add, RTM_NEWRULE, RTM_DELRULE);
  auto* frh = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(fib_rule_hdr)));
  frh->family = AF_INET;
  frh->src_len = 32;
  frh->table = RT_TABLE_UNSPEC;
  frh->action = FR_ACT_TO_TBL;
  mnl_attr_put_u32(nlh, FRA_SRC, htonl(source));
  mnl_attr_put_u8(nlh, FRA_IP_PROTO, proto);
  fib_rule_port_range range{port, port};  // host byte order, as the kernel compares them
  mnl_attr_put(nlh, FRA_SPORT_RANGE, sizeof range, &range);
  mnl_attr_put_u32(nlh, FRA_TABLE, table);
  mnl_attr_put_u32(nlh, FRA_PRIORITY, priority);
  return change(nlh, add, "a routing rule");
}

absl::StatusOr<std::vector<Netlink::SourcePortRule>> Netlink::sourcePortRules(uint32_t table) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETRULE;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = ++seq_;
  auto* frh = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(fib_rule_hdr)));
  frh->family = AF_INET;
  if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0) return fromErrno(errno, "listing routing rules");
  struct Found {
    uint32_t table;
    std::vector<SourcePortRule> rules;
  } found{table, {}};
  auto onMessage = [](const nlmsghdr* m, void* data) -> int {
    if (m->nlmsg_type != RTM_NEWRULE) return MNL_CB_OK;
    auto* f = static_cast<Found*>(data);
    const auto* hdr = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(m));
    SourcePortRule r;
    uint32_t ruleTable = hdr->table;
    bool hasSource = false, hasPort = false;
    const char* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(m));
    for (auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(m, sizeof(fib_rule_hdr)));
         mnl_attr_ok(attr, int(tail - reinterpret_cast<const char*>(attr))); attr = mnl_attr_next(attr)) {
      switch (mnl_attr_get_type(attr)) {
        case FRA_TABLE: ruleTable = mnl_attr_get_u32(attr); break;
        case FRA_PRIORITY: r.priority = mnl_attr_get_u32(attr); break;
        case FRA_IP_PROTO: r.proto = mnl_attr_get_u8(attr); break;
        case FRA_SRC:
          r.source = ntohl(mnl_attr_get_u32(attr));
          hasSource = hdr->src_len == 32;
          break;
        case FRA_SPORT_RANGE:
          if (mnl_attr_get_payload_len(attr) >= sizeof(fib_rule_port_range)) {
            fib_rule_port_range range;
            std::memcpy(&range, mnl_attr_get_payload(attr), sizeof range);
            r.port = range.start;
            hasPort = range.start == range.end;
          }
          break;
        default: break;
      }
    }
    if (ruleTable == f->table && hasSource && hasPort && r.proto != 0) f->rules.push_back(r);
    return MNL_CB_OK;
  };
  std::vector<char> rbuf(MNL_SOCKET_BUFFER_SIZE);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock_, rbuf.data(), rbuf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fromErrno(errno, "listing routing rules");
    }
    int rc = mnl_cb_run(rbuf.data(), size_t(n), seq_, portId_, onMessage, &found);
    if (rc == MNL_CB_ERROR) return fromErrno(errno, "listing routing rules");
    if (rc == MNL_CB_STOP) break;
  }
  return found.rules;
}

void macForIp(uint32_t ip, uint8_t mac[6]) {
  mac[0] = 0x02;
  mac[1] = 0x42;
  for (int i = 0; i < 4; ++i) mac[2 + i] = uint8_t(ip >> (24 - 8 * i));
}

std::string formatMac(const uint8_t mac[6]) {
  char out[18];
  std::snprintf(out, sizeof out, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return out;
}

}  // namespace berth::network
