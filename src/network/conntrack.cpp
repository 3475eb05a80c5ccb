#include "network/conntrack.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "util/strings.h"

namespace berth::network {

namespace {

struct Tuple {
  uint32_t src = 0, dst = 0;  // network byte order, as they travel
  uint16_t sport = 0, dport = 0;
  uint8_t proto = 0;
};

struct Entry {
  Tuple orig, reply;
};

// Attribute table of one nest, by type (types past `max` ignored).
std::vector<const nlattr*> nestAttrs(const nlattr* nest, int max) {
  std::vector<const nlattr*> out(size_t(max) + 1, nullptr);
  const char* end = static_cast<const char*>(mnl_attr_get_payload(nest)) + mnl_attr_get_payload_len(nest);
  for (auto* a = static_cast<const nlattr*>(mnl_attr_get_payload(nest));
       mnl_attr_ok(a, int(end - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a)) {
    int type = mnl_attr_get_type(a);
    if (type <= max) out[size_t(type)] = a;
  }
  return out;
}

bool parseTuple(const nlattr* nest, Tuple& t) {
  auto top = nestAttrs(nest, CTA_TUPLE_MAX);
  if (!top[CTA_TUPLE_IP] || !top[CTA_TUPLE_PROTO]) return false;
  auto ip = nestAttrs(top[CTA_TUPLE_IP], CTA_IP_MAX);
  auto proto = nestAttrs(top[CTA_TUPLE_PROTO], CTA_PROTO_MAX);
  if (!ip[CTA_IP_V4_SRC] || !ip[CTA_IP_V4_DST] || !proto[CTA_PROTO_NUM]) return false;
  t.src = mnl_attr_get_u32(ip[CTA_IP_V4_SRC]);
  t.dst = mnl_attr_get_u32(ip[CTA_IP_V4_DST]);
  t.proto = mnl_attr_get_u8(proto[CTA_PROTO_NUM]);
  if (proto[CTA_PROTO_SRC_PORT]) t.sport = mnl_attr_get_u16(proto[CTA_PROTO_SRC_PORT]);
  if (proto[CTA_PROTO_DST_PORT]) t.dport = mnl_attr_get_u16(proto[CTA_PROTO_DST_PORT]);
  return true;
}

void putTuple(nlmsghdr* nlh, uint16_t type, const Tuple& t) {
  nlattr* tuple = mnl_attr_nest_start(nlh, type);
  nlattr* ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
  mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, t.src);
  mnl_attr_put_u32(nlh, CTA_IP_V4_DST, t.dst);
  mnl_attr_nest_end(nlh, ip);
  nlattr* proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t.proto);
  mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, t.sport);
  mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, t.dport);
  mnl_attr_nest_end(nlh, proto);
  mnl_attr_nest_end(nlh, tuple);
}

nlmsghdr* ctMessage(char* buf, uint16_t msg, uint16_t flags, uint32_t seq) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg;
  nlh->nlmsg_flags = flags;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_INET;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  return nlh;
}

absl::Status errnoStatus(int err, const char* what) {
  return absl::InternalError(strCat("conntrack: ", what, ": ", strerror(err)));
}

}  // namespace

absl::StatusOr<int> forgetUdpFlowsFrom(uint32_t ip, uint16_t port) {
  std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> sock(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC),
                                                         mnl_socket_close);
  if (!sock) return errnoStatus(errno, "open");
  if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) return errnoStatus(errno, "bind");
  const uint32_t portId = mnl_socket_get_portid(sock.get());
  uint32_t seq = uint32_t(::time(nullptr));

  // The whole table first (deleting while the kernel dumps would skip entries).
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = ctMessage(buf.data(), IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, ++seq);
  if (mnl_socket_sendto(sock.get(), nlh, nlh->nlmsg_len) < 0) return errnoStatus(errno, "dump");
  struct Wanted {
    uint32_t ip;
    uint16_t port;
    std::vector<Tuple> found;
  } wanted{htonl(ip), htons(port), {}};
  auto onEntry = [](const nlmsghdr* m, void* data) -> int {
    auto* w = static_cast<Wanted*>(data);
    Entry e;
    bool orig = false, reply = false;
    const char* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(m));
    for (auto* a = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(m, sizeof(nfgenmsg)));
         mnl_attr_ok(a, int(tail - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a)) {
      if (mnl_attr_get_type(a) == CTA_TUPLE_ORIG) orig = parseTuple(a, e.orig);
      if (mnl_attr_get_type(a) == CTA_TUPLE_REPLY) reply = parseTuple(a, e.reply);
    }
    if (orig && reply && e.reply.proto == IPPROTO_UDP && e.reply.src == w->ip && e.reply.sport == w->port) {
      w->found.push_back(e.orig);
    }
    return MNL_CB_OK;
  };
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoStatus(errno, "dump");
    }
    int rc = mnl_cb_run(buf.data(), size_t(n), seq, portId, onEntry, &wanted);
    if (rc == MNL_CB_ERROR) return errnoStatus(errno, "dump");
    if (rc == MNL_CB_STOP) break;
  }

  int deleted = 0;
  for (const Tuple& t : wanted.found) {
    nlh = ctMessage(buf.data(), IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, ++seq);
    putTuple(nlh, CTA_TUPLE_ORIG, t);
    if (mnl_socket_sendto(sock.get(), nlh, nlh->nlmsg_len) < 0) return errnoStatus(errno, "delete");
    ssize_t n = mnl_socket_recvfrom(sock.get(), buf.data(), buf.size());
    if (n < 0) return errnoStatus(errno, "delete");
    int rc = mnl_cb_run(buf.data(), size_t(n), seq, portId, nullptr, nullptr);
    if (rc != MNL_CB_ERROR) {
      ++deleted;
    } else if (errno != ENOENT) {  // gone meanwhile is fine
      return errnoStatus(errno, "delete");
    }
  }
  return deleted;
}

}  // namespace berth::network
