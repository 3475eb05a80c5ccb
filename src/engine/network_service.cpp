#include "engine/network_service.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <sstream>

#include "absl/strings/str_join.h"

#include "engine/container_doc.h"
#include "network/conntrack.h"
#include "network/dns_server.h"
#include "network/firewall.h"
#include "network/netlink.h"
#include "network/netns.h"
#include "network/port_forwarder.h"
#include "util/host_sockets.h"
#include "util/log.h"
#include "util/random_id.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/timestamp.h"
#include "util/unique_fd.h"

namespace berth::engine {

namespace {

using ojson = nlohmann::ordered_json;
using network::Ipv4Prefix;

bool isPredefined(std::string_view name) { return name == "bridge" || name == "host" || name == "none"; }

// The host's /etc/resolv.conf: its resolvers in order (loopback ones
// included: the embedded resolver runs in the host's namespace and can reach
// them) and its search domains.
struct HostResolvConf {
  std::vector<std::string> nameservers, search;
};

HostResolvConf readHostResolvConf() {
  std::istringstream in(readFileOrEmpty("/etc/resolv.conf"));
  HostResolvConf out;
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string key, value;
    if (!(f >> key)) continue;
    if (key == "nameserver" && f >> value) out.nameservers.push_back(value);
    if (key == "search" || key == "domain") {
      out.search.clear();
      while (f >> value) out.search.push_back(value);
    }
  }
  return out;
}

// Client bodies carry nulls for unset fields (docker-py does): dropped, so
// that every lookup falls back to its default.
nlohmann::json withoutNulls(const nlohmann::json& j) {
  if (j.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : j) out.push_back(withoutNulls(e));
    return out;
  }
  if (!j.is_object()) return j;
  nlohmann::json out = nlohmann::json::object();
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it->is_null()) out[it.key()] = withoutNulls(*it);
  }
  return out;
}

template <typename Json>
std::string stringField(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->template get<std::string>() : "";
}

// A boolean of a client's body: absent or null is false, another type an error.
absl::StatusOr<bool> boolField(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return false;
  if (!it->is_boolean()) return absl::InvalidArgumentError(strCat(key, " must be a boolean"));
  return it->get<bool>();
}

ojson endpointSettings(const std::string& networkId, const nlohmann::json& cfg) {
  ojson e;
  auto pick = [&](const char* key) -> ojson {
    auto it = cfg.find(key);
    return it == cfg.end() || it->is_null() ? ojson(nullptr) : ojson(*it);
  };
  e["IPAMConfig"] = pick("IPAMConfig");
  e["Links"] = pick("Links");
  e["Aliases"] = pick("Aliases");
  e["MacAddress"] = cfg.is_object() ? stringField(cfg, "MacAddress") : "";
  e["DriverOpts"] = pick("DriverOpts");
  e["GwPriority"] = 0;
  e["NetworkID"] = networkId;
  e["EndpointID"] = "";
  e["Gateway"] = "";
  e["IPAddress"] = "";
  e["IPPrefixLen"] = 0;
  e["IPv6Gateway"] = "";
  e["GlobalIPv6Address"] = "";
  e["GlobalIPv6PrefixLen"] = 0;
  e["DNSNames"] = nullptr;
  return e;
}

struct PortRequest {
  std::string proto;
  uint16_t containerPort = 0;
  std::string hostIp;
  uint16_t hostPortLow = 0, hostPortHigh = 0;  // 0: random
  std::string key;  // "80/tcp"
  bool publish = true;  // false: listed (exposed) but not bound
};

absl::StatusOr<uint16_t> parsePort(std::string_view text, std::string_view what) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return absl::InvalidArgumentError(strCat("invalid ", what, ": ", text));
  }
  int v = std::stoi(std::string(text));
  if (v > 65535) return absl::InvalidArgumentError(strCat("invalid ", what, ": ", text));
  return uint16_t(v);
}

// The Ports document's start: exposed ports show up unbound (null), as in dockerd.
ojson exposedUnbound(const ojson& doc) {
  ojson ports = ojson::object();
  if (doc["Config"].contains("ExposedPorts") && doc["Config"]["ExposedPorts"].is_object()) {
    for (auto it = doc["Config"]["ExposedPorts"].begin(); it != doc["Config"]["ExposedPorts"].end(); ++it) {
      ports[it.key().find('/') == std::string::npos ? it.key() + "/tcp" : it.key()] = nullptr;
    }
  }
  return ports;
}

// PortBindings plus, with PublishAllPorts, every exposed port left unbound.
absl::StatusOr<std::vector<PortRequest>> portRequests(const ojson& doc) {
  std::vector<PortRequest> out;
  const ojson& host = doc["HostConfig"];
  std::set<std::string> bound;
  bool publishAll = host.value("PublishAllPorts", false);
  auto addKey = [&](const std::string& key, const ojson& bindings) -> absl::Status {
    size_t slash = key.find('/');
    std::string proto = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
    if (proto != "tcp" && proto != "udp") {
      return absl::InvalidArgumentError(strCat("unsupported protocol for port ", key, ": only tcp and udp"));
    }
    BERTH_ASSIGN_OR_RETURN(uint16_t cport, parsePort(key.substr(0, slash), "container port"));
    std::string normalized = strCat(cport, "/", proto);
    bound.insert(normalized);
    if (!bindings.is_array() || bindings.empty()) {
      out.push_back({proto, cport, "", 0, 0, normalized, publishAll});
      return absl::OkStatus();
    }
    for (const ojson& b : bindings) {
      PortRequest r{proto, cport, stringField(b, "HostIp"), 0, 0, normalized, true};
      std::string hp = stringField(b, "HostPort");
      if (!hp.empty()) {
        size_t dash = hp.find('-');
        BERTH_ASSIGN_OR_RETURN(r.hostPortLow, parsePort(hp.substr(0, dash), "host port"));
        r.hostPortHigh = r.hostPortLow;
        if (dash != std::string::npos) {
          BERTH_ASSIGN_OR_RETURN(r.hostPortHigh, parsePort(hp.substr(dash + 1), "host port"));
          if (r.hostPortHigh < r.hostPortLow) return absl::InvalidArgumentError(strCat("invalid port range: ", hp));
        }
      }
      out.push_back(std::move(r));
    }
    return absl::OkStatus();
  };
  if (host.contains("PortBindings") && host["PortBindings"].is_object()) {
    for (auto it = host["PortBindings"].begin(); it != host["PortBindings"].end(); ++it) {
      BERTH_RETURN_IF_ERROR(addKey(it.key(), it.value()));
    }
  }
  if (publishAll && doc["Config"].contains("ExposedPorts") &&
      doc["Config"]["ExposedPorts"].is_object()) {
    for (auto it = doc["Config"]["ExposedPorts"].begin(); it != doc["Config"]["ExposedPorts"].end(); ++it) {
      std::string key = it.key().find('/') == std::string::npos ? it.key() + "/tcp" : it.key();
      if (!bound.contains(key)) BERTH_RETURN_IF_ERROR(addKey(key, ojson(nullptr)));
    }
  }
  return out;
}

}  // namespace

class NetworkService::Impl {
 public:
  struct Network {
    std::string id, name, driver;  // driver: bridge, host, null
    bool internal = false;
    bool icc = true, masquerade = true;
    std::string bridge;  // interface name
    std::optional<Ipv4Prefix> subnet;
    uint32_t gateway = 0;
    std::optional<network::AddressPool> pool;
    ojson doc;  // inspect document, Containers left out
    bool bridgeReady = false;
    std::unique_ptr<network::DnsServer> dns;
  };
  struct Endpoint {
    std::string containerId, containerName, networkId, endpointId, veth, ifname;
    uint32_t ip = 0;
    std::vector<std::string> dnsNames;
  };
  // A published container port whose replies are delivered here (see routeRepliesLocked).
  struct ReplyRoute {
    uint32_t ip;
    uint8_t proto;
    uint16_t port;
    auto operator<=>(const ReplyRoute&) const = default;
  };
  static constexpr uint32_t kReplyRulePriority = 100;  // before the main table (32766)

  Impl(store::StateStore& db, EventBus& events, NetworkOptions options)
      : db_(db), events_(events), options_(std::move(options)), work_(io_.get_executor()) {
    ::mkdir((options_.dataRoot + "/netns").c_str(), 0711);
    ipForwarding_ = readFileOrEmpty("/proc/sys/net/ipv4/ip_forward").starts_with("1");
    ioThread_ = std::thread([this] { io_.run(); });
    forwarder_ = std::make_unique<network::PortForwarder>(io_);
  }

  ~Impl() {
    forwarder_.reset();
    for (auto& [id, n] : networks_) n.dns.reset();
    work_.reset();
    io_.stop();
    if (ioThread_.joinable()) ioThread_.join();
  }

  store::StateStore& db_;
  EventBus& events_;
  NetworkOptions options_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread ioThread_;
  std::unique_ptr<network::PortForwarder> forwarder_;

  std::mutex mu_;
  std::map<std::string, Network> networks_;                     // by id; guarded by mu_
  std::map<std::string, std::vector<Endpoint>> endpoints_;      // by container id; guarded by mu_
  std::map<std::string, std::vector<network::PortForwarder::Handle>> ports_;  // by container id; guarded by mu_
  std::map<std::string, std::vector<network::PortRule>> kernelPorts_;       // by container id; guarded by mu_
  bool ipForwarding_ = false;  // net.ipv4.ip_forward when this daemon started
  std::map<ReplyRoute, int> replyRoutes_;                                  // users of each rule; guarded by mu_
  std::map<network::PortForwarder::Handle, ReplyRoute> replyRouteOf_;      // guarded by mu_
  bool firewallApplied_ = false;

  // DNS tables, read on the io thread: their own lock, never held while waiting.
  std::mutex dnsMu_;
  std::map<std::string, std::map<std::string, std::vector<uint32_t>>> dnsNames_;  // network id → name → addresses
  std::map<std::string, std::map<uint32_t, std::string>> dnsReverse_;           // network id → address → name
  std::map<std::string, std::map<uint32_t, std::string>> dnsAsker_;             // network id → address → container id
  std::map<std::string, std::vector<std::string>> dnsNetworksOf_;               // container id → its user networks
  std::map<std::string, std::map<std::string, std::string>> dnsLinks_;  // container id → --link alias → linked name

  std::string netnsPath(const std::string& containerId) const { return options_.dataRoot + "/netns/" + containerId; }
  std::string defaultBridgeIface() const {
    return options_.instanceTag.empty() ? "berth0" : "berth-" + options_.instanceTag;
  }
  std::string firewallTable() const {
    return options_.instanceTag.empty() ? "berth" : "berth_" + options_.instanceTag;
  }
  // A rootless daemon has bridges in the network namespace of its own.
  bool bridgesAvailable() const { return !options_.rootless || hostSocketsFromParent(); }

  Network* find(std::string_view idOrName) {
    for (auto& [id, n] : networks_) {
      if (n.name == idOrName || id == idOrName) return &n;
    }
    Network* match = nullptr;
    for (auto& [id, n] : networks_) {
      if (!idOrName.empty() && id.starts_with(idOrName)) {
        if (match) return nullptr;
        match = &n;
      }
    }
    return match;
  }

  absl::StatusOr<Network*> mustFind(std::string_view idOrName) {
    Network* n = find(idOrName);
    if (!n) return absl::NotFoundError(strCat("network ", idOrName, " not found"));
    return n;
  }

  static void fromDoc(Network& n) {
    const ojson& d = n.doc;
    n.id = d.value("Id", "");
    n.name = d.value("Name", "");
    n.driver = d.value("Driver", "bridge");
    n.internal = d.value("Internal", false);
    const ojson& opts = d.value("Options", ojson::object());
    n.icc = opts.value("com.docker.network.bridge.enable_icc", "true") != "false";
    n.masquerade = opts.value("com.docker.network.bridge.enable_ip_masquerade", "true") != "false";
    n.bridge = d.contains("Berth") ? d["Berth"].value("Bridge", "") : "";
    n.subnet.reset();
    n.pool.reset();
    if (n.driver != "bridge") return;
    const ojson& cfgs = d["IPAM"].value("Config", ojson::array());
    if (!cfgs.is_array() || cfgs.empty()) return;
    const ojson& c = cfgs[0];
    absl::StatusOr<Ipv4Prefix> subnet = network::parsePrefix(c.value("Subnet", ""));
    absl::StatusOr<uint32_t> gw = network::parseIpv4(c.value("Gateway", ""));
    if (!subnet.ok() || !gw.ok()) return;
    std::optional<Ipv4Prefix> range;
    if (auto r = network::parsePrefix(c.value("IPRange", "")); r.ok()) range = *r;
    n.subnet = *subnet;
    n.gateway = *gw;
    n.pool.emplace(*subnet, *gw, range);
    const ojson aux = c.value("AuxiliaryAddresses", ojson::object());
    for (const auto& a : aux) {
      if (!a.is_string()) continue;
      if (auto ip = network::parseIpv4(a.get<std::string>()); ip.ok()) n.pool->reserve(*ip);
    }
  }

  std::vector<Ipv4Prefix> takenSubnets() const {
    std::vector<Ipv4Prefix> taken = network::hostRoutes();
    for (const auto& [id, n] : networks_) {
      if (n.subnet) taken.push_back(*n.subnet);
    }
    return taken;
  }

  absl::Status persist(const Network& n) { return db_.updateNetworkSpec(n.id, n.doc.dump()); }

  // --- the host side: bridges, firewall, resolvers ---

  // Rewrites the firewall table for the ready bridges and published ports (and tells the
  // forwarder which subnets are bridged).
  absl::Status applyFirewallLocked() {
    std::vector<network::BridgeRules> rules;
    for (const auto& [id, n] : networks_) {
      if (n.bridgeReady && n.subnet) rules.push_back({n.bridge, *n.subnet, n.internal, n.masquerade, n.icc});
    }
    std::vector<network::Ipv4Prefix> subnets;
    for (const network::BridgeRules& b : rules) subnets.push_back(b.subnet);
    forwarder_->setBridgedSubnets(std::move(subnets));
    if (rules.empty() && !firewallApplied_) return absl::OkStatus();
    std::vector<network::PortRule> ports;
    for (const auto& [cid, list] : kernelPorts_) ports.insert(ports.end(), list.begin(), list.end());
    absl::Status st = network::applyFirewall(network::renderFirewall(firewallTable(), rules, ports, ipForwarding_));
    if (st.ok()) firewallApplied_ = !rules.empty();
    return st;
  }

  absl::Status ensureBridgeLocked(Network& n) {
    if (n.bridgeReady) return absl::OkStatus();
    if (!n.subnet) return absl::FailedPreconditionError(strCat("network ", n.name, " has no IPv4 subnet"));
    BERTH_ASSIGN_OR_RETURN(network::Netlink nl, network::Netlink::open());
    BERTH_RETURN_IF_ERROR(nl.createBridge(n.bridge));
    BERTH_RETURN_IF_ERROR(nl.addAddress(n.bridge, n.gateway, n.subnet->len));
    BERTH_RETURN_IF_ERROR(nl.setUp(n.bridge));
    if (!n.internal && readFileOrEmpty("/proc/sys/net/ipv4/ip_forward").starts_with("0")) {
      log::warn("IPv4 forwarding is off (net.ipv4.ip_forward=0): containers have no outbound connectivity");
    }
    n.bridgeReady = true;
    absl::Status fw = applyFirewallLocked();
    if (!fw.ok()) log::warn("could not apply the firewall rules", {{"error", std::string(fw.message())}});
    if (fw.ok() && kernelPortsEnabled()) {
      // A connection to 127.0.0.1 DNATed to a container leaves through the bridge; only once the
      // firewall's guard keeps 127.0.0.0/8 from coming in through it.
      UniqueFd f(::open(strCat("/proc/sys/net/ipv4/conf/", n.bridge, "/route_localnet").c_str(), O_WRONLY | O_CLOEXEC));
      if (!f.valid() || !writeAll(f.get(), "1").ok()) {
        log::warn("could not set route_localnet: published ports on 127.0.0.1 go through the forwarder",
                  {{"bridge", n.bridge}});
      }
    }
    if (n.name != "bridge") startDnsLocked(n);
    return absl::OkStatus();
  }

  void startDnsLocked(Network& n) {
    std::string networkId = n.id;
    network::Resolver resolver;
    resolver.forward = [this, networkId](std::string_view name, uint32_t client) {
      // This network's names first, then those of the asker's other networks
      // (a container resolves names on every network it is on, as in dockerd).
      network::LookupResult r;
      std::lock_guard lock(dnsMu_);
      std::vector<std::string> order = {networkId};
      std::string wanted(name);
      if (auto asker = dnsAsker_.find(networkId); asker != dnsAsker_.end()) {
        if (auto cid = asker->second.find(client); cid != asker->second.end()) {
          for (const std::string& other : dnsNetworksOf_[cid->second]) {
            if (other != networkId) order.push_back(other);
          }
          // The asker's own --link aliases stand for the linked container's name.
          if (auto links = dnsLinks_.find(cid->second); links != dnsLinks_.end()) {
            if (auto l = links->second.find(wanted); l != links->second.end()) wanted = l->second;
          }
        }
      }
      for (const std::string& id : order) {
        auto net = dnsNames_.find(id);
        if (net == dnsNames_.end()) continue;
        auto it = net->second.find(wanted);
        if (it == net->second.end()) continue;
        r.known = true;
        r.ipv4 = it->second;
        break;
      }
      return r;
    };
    resolver.reverse = [this, networkId](uint32_t ip) -> std::optional<std::string> {
      std::lock_guard lock(dnsMu_);
      auto net = dnsReverse_.find(networkId);
      if (net == dnsReverse_.end()) return std::nullopt;
      auto it = net->second.find(ip);
      if (it == net->second.end()) return std::nullopt;
      return it->second;
    };
    auto server = network::DnsServer::start(io_, n.gateway, 53, std::move(resolver), readHostResolvConf().nameservers);
    if (!server.ok()) {
      log::warn("the network's DNS resolver could not start",
                {{"network", n.name}, {"error", std::string(server.status().message())}});
      return;
    }
    n.dns = std::move(*server);
  }

  void removeBridgeLocked(Network& n) {
    if (!n.bridgeReady) return;
    n.dns.reset();
    if (auto nl = network::Netlink::open(); nl.ok()) {
      absl::Status st = nl->deleteLink(n.bridge);
      if (!st.ok()) log::warn("could not delete a bridge", {{"bridge", n.bridge}, {"error", std::string(st.message())}});
    }
    n.bridgeReady = false;
    absl::Status fw = applyFirewallLocked();
    if (!fw.ok()) log::warn("could not apply the firewall rules", {{"error", std::string(fw.message())}});
  }

  // --- endpoints ---

  void registerDns(const Endpoint& e) {
    if (e.dnsNames.empty()) return;
    std::lock_guard lock(dnsMu_);
    for (const std::string& name : e.dnsNames) {
      auto& v = dnsNames_[e.networkId][toLower(name)];
      if (std::find(v.begin(), v.end(), e.ip) == v.end()) v.push_back(e.ip);
    }
    dnsReverse_[e.networkId][e.ip] = e.containerName;
    dnsAsker_[e.networkId][e.ip] = e.containerId;
    std::vector<std::string>& nets = dnsNetworksOf_[e.containerId];
    if (std::find(nets.begin(), nets.end(), e.networkId) == nets.end()) nets.push_back(e.networkId);
  }

  // HostConfig.Links: the alias resolves, for this container only, to the
  // linked container's name.
  void registerLinks(const std::string& containerId, const ojson& host) {
    std::map<std::string, std::string> links;
    for (const std::string& link : stringList(host.value("Links", ojson()))) {
      auto [target, alias] = parseLink(link);
      if (!target.empty() && !alias.empty()) links[toLower(std::string(alias))] = toLower(std::string(target));
    }
    std::lock_guard lock(dnsMu_);
    if (links.empty()) {
      dnsLinks_.erase(containerId);
    } else {
      dnsLinks_[containerId] = std::move(links);
    }
  }

  void unregisterDns(const Endpoint& e) {
    std::lock_guard lock(dnsMu_);
    auto net = dnsNames_.find(e.networkId);
    if (net != dnsNames_.end()) {
      for (const std::string& name : e.dnsNames) {
        auto it = net->second.find(toLower(name));
        if (it == net->second.end()) continue;
        std::erase(it->second, e.ip);
        if (it->second.empty()) net->second.erase(it);
      }
    }
    if (auto r = dnsReverse_.find(e.networkId); r != dnsReverse_.end()) r->second.erase(e.ip);
    if (auto a = dnsAsker_.find(e.networkId); a != dnsAsker_.end()) a->second.erase(e.ip);
    if (auto n = dnsNetworksOf_.find(e.containerId); n != dnsNetworksOf_.end()) {
      std::erase(n->second, e.networkId);
      if (n->second.empty()) dnsNetworksOf_.erase(n);
    }
  }

  // One network's veth into the namespace `nsFd`; fills `settings`.
  absl::StatusOr<Endpoint> plugLocked(Network& n, int nsFd, network::Netlink& inside, const std::string& containerId,
                                      const std::string& containerName, const std::string& ifname,
                                      const nlohmann::json& cfg, bool defaultRoute, ojson& settings) {
    BERTH_RETURN_IF_ERROR(ensureBridgeLocked(n));
    std::optional<uint32_t> wanted;
    if (cfg.is_object() && cfg.contains("IPAMConfig") && cfg["IPAMConfig"].is_object()) {
      std::string ip = stringField(cfg["IPAMConfig"], "IPv4Address");
      if (!ip.empty()) {
        if (n.name == "bridge") {
          return absl::InvalidArgumentError("user specified IP address is supported on user defined networks only");
        }
        BERTH_ASSIGN_OR_RETURN(wanted, network::parseIpv4(ip));
      }
    }
    BERTH_ASSIGN_OR_RETURN(uint32_t ip, n.pool->allocate(wanted));
    Endpoint e{containerId, containerName, n.id, newHexId(), "", ifname, ip, {}};
    e.veth = "veth" + e.endpointId.substr(0, 7);
    uint8_t mac[6];
    network::macForIp(ip, mac);
    auto fail = [&](absl::Status st) {
      n.pool->release(ip);
      if (auto host = network::Netlink::open(); host.ok()) (void)host->deleteLink(e.veth);
      return st;
    };
    BERTH_ASSIGN_OR_RETURN(network::Netlink host, network::Netlink::open());
    if (absl::Status st = host.createVeth(e.veth, ifname, nsFd); !st.ok()) return fail(st);
    for (absl::Status st : {host.setMaster(e.veth, n.bridge), host.setUp(e.veth), inside.setMac(ifname, mac),
                            inside.addAddress(ifname, ip, n.subnet->len), inside.setUp(ifname)}) {
      if (!st.ok()) return fail(st);
    }
    if (defaultRoute && !n.internal) {
      if (absl::Status st = inside.addDefaultRoute(n.gateway); !st.ok()) return fail(st);
    }
    if (n.name != "bridge") {
      e.dnsNames.push_back(containerName);
      if (cfg.is_object() && cfg.contains("Aliases")) {
        for (const std::string& a : stringList(cfg["Aliases"])) {
          if (std::find(e.dnsNames.begin(), e.dnsNames.end(), a) == e.dnsNames.end()) e.dnsNames.push_back(a);
        }
      }
      std::string shortId = containerId.substr(0, 12);
      if (std::find(e.dnsNames.begin(), e.dnsNames.end(), shortId) == e.dnsNames.end()) e.dnsNames.push_back(shortId);
    }
    registerDns(e);
    settings["NetworkID"] = n.id;
    settings["EndpointID"] = e.endpointId;
    settings["Gateway"] = network::formatIpv4(n.gateway);
    settings["IPAddress"] = network::formatIpv4(ip);
    settings["IPPrefixLen"] = n.subnet->len;
    settings["MacAddress"] = network::formatMac(mac);
    settings["DNSNames"] = e.dnsNames.empty() ? ojson(nullptr) : ojson(e.dnsNames);
    return e;
  }

  // `deleteVeth` false when the whole namespace goes: the kernel removes the
  // pair with it, off the request's path (a synchronous delete waits for an
  // RCU grace period, ~10 ms of every `docker run --rm`).
  void unplugLocked(const Endpoint& e, bool deleteVeth = true) {
    unregisterDns(e);
    if (!deleteVeth) {
    } else if (auto host = network::Netlink::open(); host.ok()) {
      (void)host->deleteLink(e.veth);
    }
    if (auto n = networks_.find(e.networkId); n != networks_.end() && n->second.pool) n->second.pool->release(e.ip);
  }

  void releasePortsLocked(const std::string& containerId) {
    auto it = ports_.find(containerId);
    if (it == ports_.end()) return;
    for (auto h : it->second) {
      forwarder_->remove(h);
      if (auto r = replyRouteOf_.find(h); r != replyRouteOf_.end()) {
        unrouteRepliesLocked(r->second);
        replyRouteOf_.erase(r);
      }
    }
    ports_.erase(it);
    auto kernel = kernelPorts_.find(containerId);
    if (kernel == kernelPorts_.end()) return;
    std::vector<network::PortRule> gone = std::move(kernel->second);
    kernelPorts_.erase(kernel);
    absl::Status fw = applyFirewallLocked();
    if (!fw.ok()) log::warn("could not apply the firewall rules", {{"error", std::string(fw.message())}});
    for (const network::PortRule& p : gone) {
      if (p.proto != "udp") continue;
      absl::StatusOr<int> n = network::forgetUdpFlowsFrom(p.containerIp, p.containerPort);
      if (!n.ok()) log::warn("could not forget a published UDP port's flows", {{"error", std::string(n.status().message())}});
    }
  }

  // Where clients from elsewhere reach the forwarder (rootless, or as root
  // without IP forwarding), it connects to a container from the client's own
  // address (PortSpec::keepClientAddress), as dockerd's NAT keeps it. The
  // container's replies to that address must then be delivered here, to the
  // forwarder's socket, rather than routed on (out of the host, or through
  // slirp4netns): a policy rule per published container port sends them to a
  // table that delivers everything locally. Only replies come from a
  // published port of a container; its own connections leave from other
  // ports and are routed as before.
  // Not with DNAT from elsewhere: a DNATed reply is routed before it is
  // un-NATed, and the rule would deliver it here instead.
  bool keepClientAddresses() const { return bridgesAvailable() && !(kernelPortsEnabled() && ipForwarding_); }
  // As root, the kernel carries published IPv4 ports (the firewall's DNAT
  // rules, which keep the client's address by themselves): connections this
  // host makes, and with IP forwarding on those from elsewhere. The
  // forwarder's listeners hold the ports and serve the rest (IPv6, other
  // machines without forwarding), or everything when the rules cannot be
  // applied. Rootless, the listeners are in the host's namespace and the
  // containers in the daemon's: only the forwarder joins the two.
  bool kernelPortsEnabled() const { return !options_.rootless; }
  // The table's number: one per daemon, for the host's namespace may hold several.
  uint32_t replyTable() const {
    uint32_t h = 2166136261u;  // FNV-1a of the instance tag
    for (char c : options_.instanceTag) h = (h ^ uint8_t(c)) * 16777619u;
    return options_.instanceTag.empty() ? 7841 : 7842 + h % 100000;
  }

  absl::Status routeRepliesLocked(const ReplyRoute& r) {
    if (replyRoutes_[r]++ > 0) return absl::OkStatus();
    absl::Status st = [&]() -> absl::Status {
      BERTH_ASSIGN_OR_RETURN(network::Netlink nl, network::Netlink::open());
      BERTH_RETURN_IF_ERROR(nl.addLocalDeliveryTable(replyTable()));
      return nl.sourcePortRule(true, r.ip, r.proto, r.port, replyTable(), kReplyRulePriority);
    }();
    if (!st.ok()) replyRoutes_.erase(r);
    return st;
  }

  void unrouteRepliesLocked(const ReplyRoute& r) {
    auto it = replyRoutes_.find(r);
    if (it == replyRoutes_.end() || --it->second > 0) return;
    replyRoutes_.erase(it);
    auto nl = network::Netlink::open();
    absl::Status st = nl.ok() ? nl->sourcePortRule(false, r.ip, r.proto, r.port, replyTable(), kReplyRulePriority)
                              : nl.status();
    if (st.ok() && replyRoutes_.empty()) st = nl->deleteLocalDeliveryTable(replyTable());
    if (!st.ok()) log::warn("port forward: removing a reply route failed", {{"error", std::string(st.message())}});
  }

  // The rules of this daemon's table that no published port needs any more:
  // a crashed daemon's, found by the next one.
  void removeStaleReplyRoutesLocked() {
    auto nl = network::Netlink::open();
    absl::StatusOr<std::vector<network::Netlink::SourcePortRule>> rules =
        nl.ok() ? nl->sourcePortRules(replyTable()) : nl.status();
    absl::Status st = rules.status();
    for (size_t i = 0; st.ok() && i < rules->size(); ++i) {
      const auto& r = (*rules)[i];
      if (replyRoutes_.contains(ReplyRoute{r.source, r.proto, r.port})) continue;
      st = nl->sourcePortRule(false, r.source, r.proto, r.port, replyTable(), r.priority);
    }
    if (st.ok() && replyRoutes_.empty()) st = nl->deleteLocalDeliveryTable(replyTable());
    if (!st.ok()) log::warn("could not remove stale reply routes", {{"error", std::string(st.message())}});
  }

  absl::StatusOr<ojson> publishLocked(const std::string& containerId, const ojson& doc, uint32_t target,
                                      const PortDialer* dial = nullptr) {
    bool kernelChanged = false;
    absl::StatusOr<ojson> ports = publishEachLocked(containerId, doc, target, dial, kernelChanged);
    // Also after a failure: the mappings made so far stay until the caller releases them.
    if (kernelChanged) {
      if (absl::Status fw = applyFirewallLocked(); !fw.ok()) {
        log::warn("published ports go through the forwarder: the firewall rules could not be applied",
                  {{"error", std::string(fw.message())}});
        kernelPorts_.erase(containerId);
      }
    }
    return ports;
  }

  absl::StatusOr<ojson> publishEachLocked(const std::string& containerId, const ojson& doc, uint32_t target,
                                          const PortDialer* dial, bool& kernelChanged) {
    ojson ports = exposedUnbound(doc);
    BERTH_ASSIGN_OR_RETURN(std::vector<PortRequest> reqs, portRequests(doc));
    for (const PortRequest& r : reqs) {
      if (!ports.contains(r.key) || ports[r.key].is_null()) ports[r.key] = nullptr;
    }
    for (const PortRequest& r : reqs) {
      if (!r.publish) continue;
      if (dial && r.proto != "tcp") {
        return absl::InvalidArgumentError(strCat("cannot publish ", r.key, ": only tcp ports reach pods"));
      }
      absl::Status last = absl::OkStatus();
      bool done = false;
      // A host range: its first free port (uint32_t: 65535 ends the loop).
      for (uint32_t hp = r.hostPortLow; hp <= r.hostPortHigh && !done; ++hp) {
        network::PortSpec spec{r.proto, r.hostIp, uint16_t(hp), target, r.containerPort};
        std::vector<UniqueFd> listeners;
        absl::StatusOr<std::vector<network::BoundPort>> bound = network::bindListeners(spec, listeners);
        if (!bound.ok()) {
          last = bound.status();
          continue;
        }
        spec.hostPort = bound->front().hostPort;
        std::optional<ReplyRoute> route;
        if (!dial && target != 0 && keepClientAddresses()) {
          route = ReplyRoute{target, uint8_t(r.proto == "udp" ? IPPROTO_UDP : IPPROTO_TCP), r.containerPort};
          if (absl::Status st = routeRepliesLocked(*route); st.ok()) {
            spec.keepClientAddress = true;
          } else {
            log::warn("port forward: the container will see this host's address, not the client's",
                      {{"error", std::string(st.message())}});
            route.reset();
          }
        }
        absl::StatusOr<network::PortForwarder::Handle> h = forwarder_->add(
            std::move(listeners), spec,
            dial ? network::Dialer([d = *dial, port = r.containerPort] { return d(port); }) : network::Dialer());
        if (!h.ok()) {
          if (route) unrouteRepliesLocked(*route);
          return h.status();
        }
        if (route) replyRouteOf_[*h] = *route;
        ports_[containerId].push_back(*h);
        if (!dial && target != 0 && kernelPortsEnabled()) {
          std::optional<uint32_t> hostIp;
          if (r.hostIp.empty() || r.hostIp == "0.0.0.0") {
            hostIp = 0;
          } else if (absl::StatusOr<uint32_t> ip = network::parseIpv4(r.hostIp); ip.ok()) {
            hostIp = *ip;
          }
          if (hostIp) {  // IPv6 stays with the forwarder
            kernelPorts_[containerId].push_back({r.proto, *hostIp, spec.hostPort, target, r.containerPort});
            kernelChanged = true;
          }
        }
        if (!ports[r.key].is_array()) ports[r.key] = ojson::array();
        for (const network::BoundPort& b : *bound) {
          ports[r.key].push_back({{"HostIp", b.hostIp}, {"HostPort", strCat(b.hostPort)}});
        }
        done = true;
      }
      if (!done) return last;
    }
    return ports;
  }

  // The resolv.conf of a container: the embedded resolver on user networks,
  // else the host's (or --dns) servers minus loopback ones it cannot reach.
  std::string resolvConf(const ojson& host, const Network* userNet) {
    std::vector<std::string> servers = stringList(host.value("Dns", ojson()));
    std::vector<std::string> search = stringList(host.value("DnsSearch", ojson()));
    std::vector<std::string> opts = stringList(host.value("DnsOptions", ojson()));
    HostResolvConf hostConf = readHostResolvConf();
    if (search.empty()) search = hostConf.search;
    std::string out = "# Generated by Berth.\n";
    if (userNet && userNet->dns) {
      out += "nameserver " + network::formatIpv4(userNet->gateway) + "\n";
      opts.insert(opts.begin(), "ndots:0");
    } else {
      if (servers.empty()) {
        for (const std::string& s : hostConf.nameservers) {
          if (!s.starts_with("127.") && s != "::1") servers.push_back(s);
        }
      }
      if (servers.empty()) servers = {"8.8.8.8", "8.8.4.4"};
      for (const std::string& s : servers) out += "nameserver " + s + "\n";
    }
    if (!search.empty()) out += "search " + absl::StrJoin(search, " ") + "\n";
    if (!opts.empty()) out += "options " + absl::StrJoin(opts, " ") + "\n";
    return out;
  }

  absl::StatusOr<std::vector<std::string>> extraHosts(const ojson& host) {
    std::vector<std::string> out;
    for (const std::string& entry : stringList(host.value("ExtraHosts", ojson()))) {
      // "name:ip" (the CLI's form) or "name=ip"
      size_t sep = entry.find('=');
      if (sep == std::string::npos) sep = entry.find(':');
      if (sep == std::string::npos) return absl::InvalidArgumentError(strCat("invalid extra host: ", entry));
      std::string name = entry.substr(0, sep), ip = entry.substr(sep + 1);
      if (ip == "host-gateway" && !options_.hostGatewayIp.empty()) {
        ip = options_.hostGatewayIp;
      } else if (ip == "host-gateway") {
        Network* def = find("bridge");
        if (!def || !def->subnet) return absl::FailedPreconditionError("no host gateway: the default bridge has no subnet");
        ip = network::formatIpv4(def->gateway);
      }
      out.push_back(ip + "\t" + name);
    }
    return out;
  }
};

NetworkService::NetworkService(store::StateStore& db, EventBus& events, NetworkOptions options)
    : impl_(std::make_unique<Impl>(db, events, options)), options_(std::move(options)) {}

NetworkService::~NetworkService() = default;

absl::Status NetworkService::load() {
  std::lock_guard lock(impl_->mu_);
  BERTH_ASSIGN_OR_RETURN(std::vector<store::NetworkRow> rows, impl_->db_.listNetworks());
  for (const store::NetworkRow& row : rows) {
    Impl::Network n;
    n.doc = ojson::parse(row.spec, nullptr, false);
    if (n.doc.is_discarded()) {
      log::warn("skipping a network with an unreadable record", {{"id", row.id}});
      continue;
    }
    Impl::fromDoc(n);
    std::string id = n.id;
    impl_->networks_.emplace(id, std::move(n));
  }
  struct Predefined {
    const char* name;
    const char* driver;
  };
  for (Predefined p : {Predefined{"bridge", "bridge"}, Predefined{"host", "host"}, Predefined{"none", "null"}}) {
    if (impl_->find(p.name)) continue;
    ojson doc;
    doc["Name"] = p.name;
    doc["Id"] = newHexId();
    doc["Created"] = formatRfc3339Nano(nowSystem());
    doc["Scope"] = "local";
    doc["Driver"] = p.driver;
    doc["EnableIPv4"] = true;
    doc["EnableIPv6"] = false;
    doc["IPAM"] = {{"Driver", "default"}, {"Options", nullptr}, {"Config", ojson::array()}};
    doc["Internal"] = false;
    doc["Attachable"] = false;
    doc["Ingress"] = false;
    doc["ConfigFrom"] = {{"Network", ""}};
    doc["ConfigOnly"] = false;
    doc["Options"] = ojson::object();
    doc["Labels"] = ojson::object();
    if (std::string(p.name) == "bridge") {
      std::optional<Ipv4Prefix> subnet = network::chooseSubnet(impl_->takenSubnets());
      if (subnet) {
        doc["IPAM"]["Config"].push_back({{"Subnet", network::formatPrefix(*subnet)},
                                         {"Gateway", network::formatIpv4(subnet->addr + 1)}});
      }
      doc["Options"] = {{"com.docker.network.bridge.default_bridge", "true"},
                        {"com.docker.network.bridge.enable_icc", "true"},
                        {"com.docker.network.bridge.enable_ip_masquerade", "true"},
                        {"com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"},
                        {"com.docker.network.bridge.name", impl_->defaultBridgeIface()},
                        {"com.docker.network.driver.mtu", "1500"}};
      doc["Berth"] = {{"Bridge", impl_->defaultBridgeIface()}};
    }
    store::NetworkRow row{doc["Id"], p.name, toUnixNanos(nowSystem()), doc.dump()};
    BERTH_RETURN_IF_ERROR(impl_->db_.insertNetwork(row));
    Impl::Network n;
    n.doc = std::move(doc);
    Impl::fromDoc(n);
    std::string id = n.id;
    impl_->networks_.emplace(id, std::move(n));
  }
  return absl::OkStatus();
}

void NetworkService::removeUnusedBridges() {
  std::lock_guard lock(impl_->mu_);
  if (!impl_->bridgesAvailable()) return;
  std::set<std::string> inUse;
  for (const auto& [cid, eps] : impl_->endpoints_) {
    for (const auto& e : eps) inUse.insert(e.networkId);
  }
  // Also the bridges an earlier daemon left when it crashed: this one never
  // made them ready, but they are ours by name.
  for (auto& [id, n] : impl_->networks_) {
    if (inUse.contains(id) || n.driver != "bridge" || n.bridge.empty()) continue;
    n.dns.reset();
    if (auto nl = network::Netlink::open(); nl.ok()) {
      absl::Status st = nl->deleteLink(n.bridge);
      if (!st.ok()) log::warn("could not delete a bridge", {{"bridge", n.bridge}, {"error", std::string(st.message())}});
    }
    n.bridgeReady = false;
  }
  impl_->removeStaleReplyRoutesLocked();
  impl_->firewallApplied_ = true;  // rewritten whatever this daemon applied: no table is left over
  absl::Status fw = impl_->applyFirewallLocked();
  if (!fw.ok()) log::warn("could not apply the firewall rules", {{"error", std::string(fw.message())}});
  // Pinned namespaces no running container owns (their records lost with a
  // crash): each would keep its veth, and the bridge's address, alive.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(impl_->options_.dataRoot + "/netns", ec)) {
    if (impl_->endpoints_.contains(entry.path().filename().string())) continue;
    absl::Status st = network::removeNetns(entry.path().string());
    if (!st.ok()) log::warn("could not remove a network namespace", {{"error", std::string(st.message())}});
  }
}

void NetworkService::shutdown() {
  removeUnusedBridges();
  std::lock_guard lock(impl_->mu_);
  for (auto& [id, n] : impl_->networks_) n.dns.reset();
}

absl::StatusOr<std::vector<std::string>> NetworkService::extraHostsOf(const nlohmann::ordered_json& hostConfig) {
  std::lock_guard lock(impl_->mu_);
  return impl_->extraHosts(hostConfig);
}

nlohmann::ordered_json NetworkService::portsAt(const nlohmann::ordered_json& doc, const std::string& address) {
  ojson ports = exposedUnbound(doc);
  absl::StatusOr<std::vector<PortRequest>> reqs = portRequests(doc);
  if (!reqs.ok()) return ports;
  for (const PortRequest& r : *reqs) {
    if (!r.publish || address.empty()) {
      if (!ports.contains(r.key)) ports[r.key] = nullptr;
      continue;
    }
    ports[r.key] = ojson::array({{{"HostIp", address}, {"HostPort", strCat(r.containerPort)}}});
  }
  return ports;
}

void NetworkService::clearRunningSettings(nlohmann::ordered_json& settings) {
  if (settings.contains("Networks") && settings["Networks"].is_object()) {
    for (auto& e : settings["Networks"]) {
      e["EndpointID"] = "";
      e["Gateway"] = "";
      e["IPAddress"] = "";
      e["IPPrefixLen"] = 0;
      e["MacAddress"] = "";
      e["DNSNames"] = nullptr;
    }
  }
  settings["Ports"] = ojson::object();
  settings["SandboxID"] = "";
  settings["SandboxKey"] = "";
  for (const char* k : {"EndpointID", "Gateway", "IPAddress", "MacAddress"}) {
    if (settings.contains(k)) settings[k] = "";
  }
  if (settings.contains("IPPrefixLen")) settings["IPPrefixLen"] = 0;
}

std::string NetworkService::resolvConfFor(const nlohmann::ordered_json& hostConfig, const std::string& networkId) {
  std::lock_guard lock(impl_->mu_);
  Impl::Network* n = impl_->find(networkId);
  if (!n || n->name == "bridge" || !n->dns) return "";
  return impl_->resolvConf(hostConfig, n);
}

absl::StatusOr<std::pair<std::string, std::string>> NetworkService::resolveNetwork(std::string_view idOrName) {
  std::lock_guard lock(impl_->mu_);
  BERTH_ASSIGN_OR_RETURN(Impl::Network * n, impl_->mustFind(idOrName));
  return std::make_pair(n->id, n->name);
}

absl::StatusOr<api::backend::NetworkCreated> NetworkService::createNetwork(const nlohmann::json& bodyIn) {
  if (!bodyIn.is_object()) return absl::InvalidArgumentError("network create body must be an object");
  const nlohmann::json body = withoutNulls(bodyIn);
  std::string name = stringField(body, "Name");
  if (name.empty()) return absl::InvalidArgumentError("network name is required");
  std::string driver = stringField(body, "Driver");
  if (driver.empty()) driver = "bridge";
  if (driver == "host" || driver == "null") {
    return absl::PermissionDeniedError(strCat("only one instance of \"", driver, "\" network is allowed"));
  }
  if (driver != "bridge") return absl::NotFoundError(strCat("plugin \"", driver, "\" not found"));
  BERTH_ASSIGN_OR_RETURN(bool ingress, boolField(body, "Ingress"));
  BERTH_ASSIGN_OR_RETURN(bool configOnly, boolField(body, "ConfigOnly"));
  BERTH_ASSIGN_OR_RETURN(bool ipv6, boolField(body, "EnableIPv6"));
  BERTH_ASSIGN_OR_RETURN(bool internal, boolField(body, "Internal"));
  BERTH_ASSIGN_OR_RETURN(bool attachable, boolField(body, "Attachable"));
  if (ingress) return absl::PermissionDeniedError("ingress networks are a swarm feature");
  if (configOnly || (body.contains("ConfigFrom") && body["ConfigFrom"].is_object() &&
                     !stringField(body["ConfigFrom"], "Network").empty())) {
    return absl::InvalidArgumentError("config-only networks are not supported");
  }
  if (ipv6) return absl::InvalidArgumentError("IPv6 networks are not supported by Berth yet");
  ojson options = ojson::object();
  if (body.contains("Options") && body["Options"].is_object()) {
    for (auto it = body["Options"].begin(); it != body["Options"].end(); ++it) {
      if (!it->is_string()) return absl::InvalidArgumentError("Options must be an object of strings");
      options[it.key()] = *it;
    }
  }
  ojson labels = ojson::object();
  if (body.contains("Labels") && body["Labels"].is_object()) {
    for (auto it = body["Labels"].begin(); it != body["Labels"].end(); ++it) {
      if (!it->is_string()) return absl::InvalidArgumentError("Labels must be an object of strings");
      labels[it.key()] = *it;
    }
  }
  std::lock_guard lock(impl_->mu_);
  if (impl_->find(name) && impl_->find(name)->name == name) {
    return absl::AlreadyExistsError(strCat("network with name ", name, " already exists"));
  }
  // IPAM: one IPv4 config, or a subnet from the pools.
  ojson ipamIn = body.contains("IPAM") && body["IPAM"].is_object() ? ojson(body["IPAM"]) : ojson::object();
  std::string ipamDriver = stringField(ipamIn, "Driver");
  if (!ipamDriver.empty() && ipamDriver != "default") return absl::NotFoundError(strCat("plugin \"", ipamDriver, "\" not found"));
  ojson config = ojson::object();
  const ojson& cfgs = ipamIn.value("Config", ojson::array());
  if (cfgs.is_array() && cfgs.size() > 1) return absl::InvalidArgumentError("only one IPv4 IPAM config is supported");
  if (cfgs.is_array() && !cfgs.empty()) {
    const ojson& c = cfgs[0];
    if (!c.is_object()) return absl::InvalidArgumentError("invalid IPAM config");
    std::string subnetText = stringField(c, "Subnet");
    if (subnetText.empty()) return absl::InvalidArgumentError("an IPAM config needs a subnet");
    BERTH_ASSIGN_OR_RETURN(Ipv4Prefix subnet, network::parsePrefix(subnetText));
    if (subnet.len > 30) return absl::InvalidArgumentError(strCat("subnet ", subnetText, " is too small"));
    for (const auto& [id, n] : impl_->networks_) {
      if (n.subnet && n.subnet->overlaps(subnet)) {
        return absl::PermissionDeniedError("Pool overlaps with other one on this address space");
      }
    }
    config["Subnet"] = network::formatPrefix(subnet);
    if (std::string range = stringField(c, "IPRange"); !range.empty()) {
      BERTH_ASSIGN_OR_RETURN(Ipv4Prefix r, network::parsePrefix(range));
      if (!subnet.contains(r.addr) || r.len < subnet.len) {
        return absl::InvalidArgumentError(strCat("IP range ", range, " is not within subnet ", subnetText));
      }
      config["IPRange"] = network::formatPrefix(r);
    }
    uint32_t gw = subnet.addr + 1;
    if (std::string g = stringField(c, "Gateway"); !g.empty()) {
      BERTH_ASSIGN_OR_RETURN(gw, network::parseIpv4(g));
      if (!subnet.contains(gw)) {
        return absl::InvalidArgumentError(strCat("gateway ", g, " is not within subnet ", subnetText));
      }
    }
    config["Gateway"] = network::formatIpv4(gw);
    if (c.contains("AuxiliaryAddresses") && c["AuxiliaryAddresses"].is_object() && !c["AuxiliaryAddresses"].empty()) {
      config["AuxiliaryAddresses"] = c["AuxiliaryAddresses"];
    }
  } else {
    std::optional<Ipv4Prefix> subnet = network::chooseSubnet(impl_->takenSubnets());
    if (!subnet) {
      return absl::PermissionDeniedError(
          "all predefined address pools have been fully subnetted");
    }
    config["Subnet"] = network::formatPrefix(*subnet);
    config["Gateway"] = network::formatIpv4(subnet->addr + 1);
  }
  std::string id = newHexId();
  ojson doc;
  doc["Name"] = name;
  doc["Id"] = id;
  doc["Created"] = formatRfc3339Nano(nowSystem());
  doc["Scope"] = "local";
  doc["Driver"] = driver;
  doc["EnableIPv4"] = true;
  doc["EnableIPv6"] = false;
  doc["IPAM"] = {{"Driver", "default"},
                 {"Options", ipamIn.contains("Options") && ipamIn["Options"].is_object() ? ipamIn["Options"] : ojson::object()},
                 {"Config", ojson::array({config})}};
  doc["Internal"] = internal;
  doc["Attachable"] = attachable;
  doc["Ingress"] = false;
  doc["ConfigFrom"] = {{"Network", ""}};
  doc["ConfigOnly"] = false;
  doc["Options"] = options;
  doc["Labels"] = labels;
  std::string iface = options.value("com.docker.network.bridge.name", "br-" + id.substr(0, 12));
  if (iface.empty() || iface.size() > 15) return absl::InvalidArgumentError(strCat("invalid bridge name: ", iface));
  doc["Berth"] = {{"Bridge", iface}};
  BERTH_RETURN_IF_ERROR(impl_->db_.insertNetwork({id, name, toUnixNanos(nowSystem()), doc.dump()}));
  Impl::Network n;
  n.doc = std::move(doc);
  Impl::fromDoc(n);
  impl_->networks_.emplace(id, std::move(n));
  impl_->events_.publish("network", "create", id, {{"name", name}, {"type", driver}});
  return api::backend::NetworkCreated{id, ""};
}

namespace {

ojson publicDoc(const ojson& doc) {
  ojson out = doc;
  out.erase("Berth");
  return out;
}

}  // namespace

absl::StatusOr<std::vector<nlohmann::ordered_json>> NetworkService::listNetworks(const api::types::Filters& f) {
  BERTH_RETURN_IF_ERROR(
      api::types::validateFilterKeys(f, {"driver", "id", "label", "name", "scope", "type", "dangling"}));
  BERTH_ASSIGN_OR_RETURN(std::optional<bool> dangling, api::types::boolFilter(f, "dangling"));
  std::lock_guard lock(impl_->mu_);
  std::set<std::string> inUse;
  for (const auto& [cid, eps] : impl_->endpoints_) {
    for (const auto& e : eps) inUse.insert(e.networkId);
  }
  std::vector<ojson> out;
  for (const auto& [id, n] : impl_->networks_) {
    auto matchAny = [&](const char* key, auto pred) {
      auto it = f.find(key);
      if (it == f.end() || it->second.empty()) return true;
      for (const auto& v : it->second) {
        if (pred(v)) return true;
      }
      return false;
    };
    bool builtin = isPredefined(n.name);
    if (!matchAny("driver", [&](const std::string& v) { return v == n.driver; })) continue;
    if (!matchAny("id", [&](const std::string& v) { return id.find(v) != std::string::npos; })) continue;
    if (!matchAny("name", [&](const std::string& v) { return n.name.find(v) != std::string::npos; })) continue;
    if (!matchAny("scope", [&](const std::string& v) { return v == "local"; })) continue;
    if (!matchAny("type", [&](const std::string& v) { return v == (builtin ? "builtin" : "custom"); })) continue;
    if (!api::types::labelsMatch(f, api::types::stringMap(n.doc.value("Labels", ojson::object())))) continue;
    if (dangling && (*dangling != (!builtin && !inUse.contains(id)))) continue;
    ojson d = publicDoc(n.doc);
    d["Containers"] = ojson::object();
    out.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<nlohmann::ordered_json> NetworkService::inspectNetwork(std::string_view idOrName) {
  std::lock_guard lock(impl_->mu_);
  BERTH_ASSIGN_OR_RETURN(Impl::Network * n, impl_->mustFind(idOrName));
  ojson d = publicDoc(n->doc);
  ojson containers = ojson::object();
  for (const auto& [cid, eps] : impl_->endpoints_) {
    for (const auto& e : eps) {
      if (e.networkId != n->id) continue;
      uint8_t mac[6];
      network::macForIp(e.ip, mac);
      containers[cid] = {{"Name", e.containerName},
                         {"EndpointID", e.endpointId},
                         {"MacAddress", network::formatMac(mac)},
                         {"IPv4Address", network::formatPrefix({e.ip, n->subnet ? n->subnet->len : 32})},
                         {"IPv6Address", ""}};
    }
  }
  // Containers keyed by id, then the rest of the document in dockerd's order.
  ojson out;
  for (auto it = d.begin(); it != d.end(); ++it) {
    out[it.key()] = it.value();
    if (it.key() == "ConfigOnly") out["Containers"] = containers;
  }
  if (!out.contains("Containers")) out["Containers"] = containers;
  return out;
}

absl::Status NetworkService::removeNetwork(std::string_view idOrName) {
  std::lock_guard lock(impl_->mu_);
  BERTH_ASSIGN_OR_RETURN(Impl::Network * n, impl_->mustFind(idOrName));
  if (isPredefined(n->name)) {
    return absl::PermissionDeniedError(strCat(n->name, " is a pre-defined network and cannot be removed"));
  }
  for (const auto& [cid, eps] : impl_->endpoints_) {
    for (const auto& e : eps) {
      if (e.networkId == n->id) {
        return absl::FailedPreconditionError(
            strCat("error while removing network: network ", n->name, " id ", n->id, " has active endpoints"));
      }
    }
  }
  impl_->removeBridgeLocked(*n);
  BERTH_RETURN_IF_ERROR(impl_->db_.deleteNetwork(n->id));
  std::string id = n->id, name = n->name, driver = n->driver;
  {
    std::lock_guard dl(impl_->dnsMu_);
    impl_->dnsNames_.erase(id);
    impl_->dnsReverse_.erase(id);
    impl_->dnsAsker_.erase(id);
  }
  impl_->networks_.erase(id);
  impl_->events_.publish("network", "destroy", id, {{"name", name}, {"type", driver}});
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> NetworkService::pruneNetworks(const api::types::Filters& f) {
  BERTH_RETURN_IF_ERROR(api::types::validateFilterKeys(f, {"until", "label", "label!"}));
  BERTH_ASSIGN_OR_RETURN(std::optional<int64_t> until, api::types::timeFilter(f, "until"));
  std::vector<std::string> candidates;
  {
    std::lock_guard lock(impl_->mu_);
    std::set<std::string> inUse;
    for (const auto& [cid, eps] : impl_->endpoints_) {
      for (const auto& e : eps) inUse.insert(e.networkId);
    }
    for (const auto& [id, n] : impl_->networks_) {
      if (isPredefined(n.name) || inUse.contains(id)) continue;
      if (!api::types::labelsMatch(f, api::types::stringMap(n.doc.value("Labels", ojson::object())))) continue;
      if (until) {
        absl::StatusOr<SystemTime> created = parseRfc3339(n.doc.value("Created", ""));
        if (created.ok() && toUnixNanos(*created) >= *until) continue;
      }
      candidates.push_back(id);
    }
  }
  std::vector<std::string> removed;
  for (const std::string& id : candidates) {
    std::string name;
    {
      std::lock_guard lock(impl_->mu_);
      if (auto it = impl_->networks_.find(id); it != impl_->networks_.end()) name = it->second.name;
    }
    if (removeNetwork(id).ok()) removed.push_back(name);
  }
  return removed;
}

absl::Status NetworkService::connectNetwork(std::string_view network, std::string_view container,
                                            const nlohmann::json& endpointConfig) {
  BERTH_ASSIGN_OR_RETURN(auto net, resolveNetwork(network));
  if (!containers_) return absl::UnavailableError("containers are not available");
  BERTH_RETURN_IF_ERROR(containers_->connectContainer(container, net.first, endpointConfig));
  return absl::OkStatus();
}

absl::Status NetworkService::disconnectNetwork(std::string_view network, std::string_view container, bool force) {
  BERTH_ASSIGN_OR_RETURN(auto net, resolveNetwork(network));
  if (!containers_) return absl::UnavailableError("containers are not available");
  return containers_->disconnectContainer(container, net.first, force);
}

absl::StatusOr<std::pair<std::string, nlohmann::ordered_json>> NetworkService::endpointEntry(
    std::string_view networkName, const nlohmann::json& cfgIn) {
  const nlohmann::json cfg = withoutNulls(cfgIn);
  std::lock_guard lock(impl_->mu_);
  BERTH_ASSIGN_OR_RETURN(Impl::Network * n, impl_->mustFind(networkName));
  bool user = !isPredefined(n->name);
  if (!user && cfg.is_object() && cfg.contains("Aliases") && cfg["Aliases"].is_array() && !cfg["Aliases"].empty()) {
    return absl::InvalidArgumentError("network-scoped alias is supported only for containers in user defined networks");
  }
  if (!user && cfg.is_object() && cfg.contains("IPAMConfig") && cfg["IPAMConfig"].is_object() &&
      !stringField(cfg["IPAMConfig"], "IPv4Address").empty()) {
    return absl::InvalidArgumentError("user specified IP address is supported on user defined networks only");
  }
  if (cfg.is_object() && cfg.contains("IPAMConfig") && cfg["IPAMConfig"].is_object()) {
    std::string ip = stringField(cfg["IPAMConfig"], "IPv4Address");
    if (!ip.empty()) {
      BERTH_ASSIGN_OR_RETURN(uint32_t a, network::parseIpv4(ip));
      if (!n->subnet || !n->subnet->contains(a)) {
        return absl::InvalidArgumentError(strCat("no configured subnet or ip-range contain the IP address ", ip));
      }
    }
  }
  return std::make_pair(n->name, endpointSettings(n->id, cfg));
}

absl::StatusOr<nlohmann::ordered_json> NetworkService::endpointsForCreate(const std::string& mode,
                                                                          const nlohmann::json& endpointsConfig) {
  ojson out = ojson::object();
  if (mode.starts_with("container:")) return out;
  std::string primary = mode == "default" || mode.empty() ? "bridge" : mode;
  nlohmann::json empty = nlohmann::json::object();
  auto configFor = [&](const std::string& key) -> const nlohmann::json& {
    for (const std::string& k : {key, std::string(key == "bridge" ? "default" : "")}) {
      if (endpointsConfig.is_object() && endpointsConfig.contains(k) && endpointsConfig[k].is_object()) {
        return endpointsConfig[k];
      }
    }
    return empty;
  };
  BERTH_ASSIGN_OR_RETURN(auto first, endpointEntry(primary, configFor(primary)));
  out[first.first] = first.second;
  if (endpointsConfig.is_object()) {
    for (auto it = endpointsConfig.begin(); it != endpointsConfig.end(); ++it) {
      // The CLI names the default network "default".
      if (it.key() == primary || (it.key() == "default" && primary == "bridge")) continue;
      if (first.first == "host" || first.first == "none") {
        return absl::InvalidArgumentError(strCat("container cannot be connected to multiple networks with one of the "
                                                 "networks in private (none) mode"));
      }
      BERTH_ASSIGN_OR_RETURN(auto more, endpointEntry(it.key(), it.value()));
      if (out.contains(more.first)) continue;
      out[more.first] = more.second;
    }
  }
  return out;
}

absl::StatusOr<Sandbox> NetworkService::setUpSandbox(const SandboxRequest& req) {
  const ojson& doc = *req.doc;
  const ojson& host = doc["HostConfig"];
  std::string mode = host.value("NetworkMode", "bridge");
  Sandbox sb;
  ojson settings = doc.value("NetworkSettings", ojson::object());
  ojson networks = settings.value("Networks", ojson::object());
  std::lock_guard lock(impl_->mu_);
  BERTH_ASSIGN_OR_RETURN(sb.extraHosts, impl_->extraHosts(host));
  if (mode == "host") {
    sb.resolvConf = readFileOrEmpty("/etc/resolv.conf");
    sb.networkSettings = settings;
    return sb;
  }
  if (mode.starts_with("container:")) {
    sb.netnsPath = req.joinNetnsPath;
    sb.resolvConf = impl_->resolvConf(host, nullptr);
    sb.networkSettings = settings;
    return sb;
  }
  if (mode == "none" || !impl_->bridgesAvailable()) {
    sb.resolvConf = impl_->resolvConf(host, nullptr);
    sb.networkSettings = settings;
    return sb;
  }
  // A fresh namespace with one veth per network (NetworkMode's first).
  std::string path = impl_->netnsPath(req.containerId);
  BERTH_RETURN_IF_ERROR(network::removeNetns(path));
  BERTH_RETURN_IF_ERROR(network::createNetns(path));
  std::vector<Impl::Endpoint> plugged;
  auto rollback = [&](absl::Status st) {
    for (const auto& e : plugged) impl_->unplugLocked(e);
    impl_->releasePortsLocked(req.containerId);
    (void)network::removeNetns(path);
    return st;
  };
  absl::StatusOr<UniqueFd> ns = network::openNetns(path);
  if (!ns.ok()) return rollback(ns.status());
  absl::StatusOr<network::Netlink> inside = network::Netlink::openIn(ns->get());
  if (!inside.ok()) return rollback(inside.status());
  if (absl::Status st = inside->setUp("lo"); !st.ok()) return rollback(st);
  std::vector<std::string> order;
  std::string primaryName;
  if (auto p = impl_->find(mode == "default" ? "bridge" : mode)) primaryName = p->name;
  if (networks.contains(primaryName)) order.push_back(primaryName);
  for (auto it = networks.begin(); it != networks.end(); ++it) {
    if (it.key() != primaryName) order.push_back(it.key());
  }
  Impl::Network* firstUser = nullptr;
  uint32_t primaryIp = 0;
  int index = 0;
  bool routed = false;
  for (const std::string& name : order) {
    ojson& entry = networks[name];
    Impl::Network* n = impl_->find(entry.value("NetworkID", ""));
    if (!n) n = impl_->find(name);
    if (!n) return rollback(absl::NotFoundError(strCat("network ", name, " not found")));
    nlohmann::json cfg = withoutNulls(nlohmann::json::parse(entry.dump()));
    absl::StatusOr<Impl::Endpoint> e = impl_->plugLocked(*n, ns->get(), *inside, req.containerId, req.containerName,
                                                         strCat("eth", index++), cfg, !routed && !n->internal, entry);
    if (!e.ok()) return rollback(e.status());
    routed = routed || !n->internal;
    if (!primaryIp) primaryIp = e->ip;
    if (!firstUser && n->name != "bridge") firstUser = n;
    plugged.push_back(std::move(*e));
  }
  absl::StatusOr<ojson> ports = impl_->publishLocked(req.containerId, doc, primaryIp);
  if (!ports.ok()) return rollback(ports.status());
  impl_->endpoints_[req.containerId] = plugged;
  settings["Networks"] = networks;
  settings["Ports"] = *ports;
  settings["SandboxID"] = req.containerId;
  settings["SandboxKey"] = path;
  // dockerd's legacy top-level fields, for the default bridge only.
  if (networks.contains("bridge")) {
    const ojson& b = networks["bridge"];
    for (const char* k : {"EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "MacAddress"}) settings[k] = b[k];
  }
  impl_->registerLinks(req.containerId, host);
  sb.netnsPath = path;
  sb.ipAddress = primaryIp ? network::formatIpv4(primaryIp) : "";
  sb.resolvConf = impl_->resolvConf(host, firstUser);
  sb.networkSettings = settings;
  for (const auto& e : plugged) {
    impl_->events_.publish("network", "connect", e.networkId,
                           {{"container", req.containerId}, {"name", impl_->networks_[e.networkId].name},
                            {"type", impl_->networks_[e.networkId].driver}});
  }
  return sb;
}

void NetworkService::restoreSandbox(const SandboxRequest& req) {
  const ojson& doc = *req.doc;
  const ojson& networks = doc["NetworkSettings"].value("Networks", ojson::object());
  std::lock_guard lock(impl_->mu_);
  std::vector<Impl::Endpoint> eps;
  uint32_t primaryIp = 0;
  for (auto it = networks.begin(); it != networks.end(); ++it) {
    Impl::Network* n = impl_->find(it.value().value("NetworkID", ""));
    absl::StatusOr<uint32_t> ip = network::parseIpv4(it.value().value("IPAddress", ""));
    if (!n || !ip.ok() || !n->pool) continue;
    (void)impl_->ensureBridgeLocked(*n);
    n->pool->reserve(*ip);
    if (!primaryIp) primaryIp = *ip;
    Impl::Endpoint e{req.containerId, req.containerName, n->id, it.value().value("EndpointID", ""), "", "", *ip, {}};
    e.veth = "veth" + e.endpointId.substr(0, std::min<size_t>(7, e.endpointId.size()));
    e.dnsNames = stringList(it.value().value("DNSNames", ojson()));
    impl_->registerDns(e);
    eps.push_back(std::move(e));
  }
  if (!eps.empty()) impl_->endpoints_[req.containerId] = std::move(eps);
  impl_->registerLinks(req.containerId, doc.value("HostConfig", ojson::object()));
  if (primaryIp) {
    absl::StatusOr<ojson> ports = impl_->publishLocked(req.containerId, doc, primaryIp);
    if (!ports.ok()) {
      log::warn("could not publish a container's ports again",
                {{"container", req.containerId}, {"error", std::string(ports.status().message())}});
    }
  }
}

absl::StatusOr<nlohmann::ordered_json> NetworkService::publishTunnelled(const std::string& containerId,
                                                                        const nlohmann::ordered_json& doc,
                                                                        PortDialer dial) {
  std::lock_guard lock(impl_->mu_);
  impl_->releasePortsLocked(containerId);
  absl::StatusOr<ojson> ports = impl_->publishLocked(containerId, doc, 0, &dial);
  if (!ports.ok()) impl_->releasePortsLocked(containerId);
  return ports;
}

void NetworkService::closePublishedPorts() {
  std::lock_guard lock(impl_->mu_);
  while (!impl_->ports_.empty()) impl_->releasePortsLocked(impl_->ports_.begin()->first);
}

void NetworkService::tearDownSandbox(const std::string& containerId) {
  std::lock_guard lock(impl_->mu_);
  {
    std::lock_guard dnsLock(impl_->dnsMu_);
    impl_->dnsLinks_.erase(containerId);
  }
  impl_->releasePortsLocked(containerId);
  if (auto it = impl_->endpoints_.find(containerId); it != impl_->endpoints_.end()) {
    for (const auto& e : it->second) {
      impl_->unplugLocked(e, false);
      if (auto n = impl_->networks_.find(e.networkId); n != impl_->networks_.end()) {
        impl_->events_.publish("network", "disconnect", e.networkId,
                               {{"container", containerId}, {"name", n->second.name}, {"type", n->second.driver}});
      }
    }
    impl_->endpoints_.erase(it);
  }
  absl::Status st = network::removeNetns(impl_->netnsPath(containerId));
  if (!st.ok()) log::warn("could not remove a network namespace", {{"error", std::string(st.message())}});
}

absl::StatusOr<nlohmann::ordered_json> NetworkService::attachRunning(const std::string& containerId,
                                                                     const std::string& containerName,
                                                                     const std::string& networkId,
                                                                     const nlohmann::json& cfgIn) {
  const nlohmann::json cfg = withoutNulls(cfgIn);
  std::lock_guard lock(impl_->mu_);
  BERTH_ASSIGN_OR_RETURN(Impl::Network * n, impl_->mustFind(networkId));
  ojson entry = endpointSettings(n->id, cfg);
  if (!impl_->bridgesAvailable() || n->driver != "bridge") return entry;
  std::string path = impl_->netnsPath(containerId);
  BERTH_ASSIGN_OR_RETURN(UniqueFd ns, network::openNetns(path));
  BERTH_ASSIGN_OR_RETURN(network::Netlink inside, network::Netlink::openIn(ns.get()));
  auto& eps = impl_->endpoints_[containerId];
  std::set<std::string> names;
  for (const auto& e : eps) names.insert(e.ifname);
  int index = 0;
  while (names.contains(strCat("eth", index))) ++index;
  bool routed = false;
  for (const auto& e : eps) routed = routed || !impl_->networks_[e.networkId].internal;
  BERTH_ASSIGN_OR_RETURN(Impl::Endpoint e, impl_->plugLocked(*n, ns.get(), inside, containerId, containerName,
                                                             strCat("eth", index), cfg, !routed, entry));
  eps.push_back(std::move(e));
  impl_->events_.publish("network", "connect", n->id, {{"container", containerId}, {"name", n->name}, {"type", n->driver}});
  return entry;
}

absl::Status NetworkService::detachRunning(const std::string& containerId, const std::string& networkId) {
  std::lock_guard lock(impl_->mu_);
  auto it = impl_->endpoints_.find(containerId);
  if (it == impl_->endpoints_.end()) return absl::OkStatus();
  for (auto e = it->second.begin(); e != it->second.end(); ++e) {
    if (e->networkId != networkId) continue;
    impl_->unplugLocked(*e);
    const Impl::Network& n = impl_->networks_[networkId];
    impl_->events_.publish("network", "disconnect", networkId,
                           {{"container", containerId}, {"name", n.name}, {"type", n.driver}});
    it->second.erase(e);
    break;
  }
  return absl::OkStatus();
}

}  // namespace berth::engine
