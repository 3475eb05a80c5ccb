#pragma once
// The network area of the engine: Docker's networks (the predefined bridge,
// host and none, and user-defined bridges) with their IPAM, and each running
// container's sandbox — a pinned network namespace with one veth per
// network, its addresses, DNS names on the embedded resolver and published
// ports. As root the bridges are real; a rootless daemon gives containers a
// private namespace with loopback only (its own issue part).
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "api/backend/network_backend.h"
#include "engine/event_bus.h"
#include "network/ipam.h"
#include "store/state_store.h"
#include "util/unique_fd.h"

namespace boost::asio {
class io_context;
}

namespace berth::network {
class DnsServer;
class PortForwarder;
}  // namespace berth::network

namespace berth::engine {

struct NetworkOptions {
  std::string dataRoot;
  bool rootless = false;
  // Host-wide names are this daemon's: the default bridge and the nft table
  // ("berth0" and "berth" when empty, "berth-<tag>" and "berth_<tag>"
  // otherwise), so a test daemon never touches another daemon's.
  std::string instanceTag;
  // What --add-host name:host-gateway stands for; empty: the default bridge's gateway.
  std::string hostGatewayIp;
};

// What a container's start needs from the network side.
struct Sandbox {
  std::string netnsPath;      // empty: the host's namespace ("host") or a fresh private one
  std::string resolvConf;     // the whole /etc/resolv.conf
  std::vector<std::string> extraHosts;  // "ip\tname" lines for /etc/hosts
  std::string ipAddress;      // the primary address, for the container's own /etc/hosts line
  nlohmann::ordered_json networkSettings;  // NetworkSettings as inspect shows it while running
};

// The container fields a sandbox is made from.
struct SandboxRequest {
  std::string containerId, containerName, hostname;
  const nlohmann::ordered_json* doc = nullptr;  // the container's inspect document
  std::string joinNetnsPath;  // --network container:<id>: that container's namespace
};

// Container operations the network routes need (connect/disconnect act on a
// container's record); implemented by ContainerService.
class ContainerNetworking {
 public:
  virtual ~ContainerNetworking() = default;
  virtual absl::Status connectContainer(std::string_view container, const std::string& networkId,
                                        const nlohmann::json& endpointConfig) = 0;
  virtual absl::Status disconnectContainer(std::string_view container, const std::string& networkId, bool force) = 0;
};

class NetworkService final : public api::backend::NetworkBackend {
 public:
  NetworkService(store::StateStore& db, EventBus& events, NetworkOptions options);
  ~NetworkService() override;
  // Loads the networks, creating the predefined ones on first start.
  absl::Status load();
  void setContainerNetworking(ContainerNetworking* c) { containers_ = c; }
  // Bridges without endpoints go, and the firewall table with the last of
  // them: after the start-up reconciliation (what a crash left) and at stop.
  void removeUnusedBridges();
  // At daemon stop: removeUnusedBridges, and the resolvers stop.
  void shutdown();

  absl::StatusOr<api::backend::NetworkCreated> createNetwork(const nlohmann::json& body) override;
  absl::StatusOr<std::vector<nlohmann::ordered_json>> listNetworks(const api::types::Filters& filters) override;
  absl::StatusOr<nlohmann::ordered_json> inspectNetwork(std::string_view idOrName) override;
  absl::Status removeNetwork(std::string_view idOrName) override;
  absl::StatusOr<std::vector<std::string>> pruneNetworks(const api::types::Filters& filters) override;
  absl::Status connectNetwork(std::string_view network, std::string_view container,
                              const nlohmann::json& endpointConfig) override;
  absl::Status disconnectNetwork(std::string_view network, std::string_view container, bool force) override;

  // Container create: NetworkSettings.Networks for the mode and the
  // request's EndpointsConfig (NotFound for an unknown network).
  absl::StatusOr<nlohmann::ordered_json> endpointsForCreate(const std::string& networkMode,
                                                            const nlohmann::json& endpointsConfig);
  // The settings entry for one more network of a created container.
  absl::StatusOr<std::pair<std::string, nlohmann::ordered_json>> endpointEntry(std::string_view network,
                                                                               const nlohmann::json& endpointConfig);
  // Container start: everything set up, or nothing left behind.
  absl::StatusOr<Sandbox> setUpSandbox(const SandboxRequest& req);
  // After a daemon restart, for a running container: addresses, names and
  // ports taken again from its recorded settings.
  void restoreSandbox(const SandboxRequest& req);
  // A container the cluster runs: its published ports bound here (a taken
  // port fails as in a local start), each TCP connection relayed to what
  // `dial` returns for the container port; UDP is refused. The Ports
  // document; tearDownSandbox releases them.
  using PortDialer = std::function<absl::StatusOr<UniqueFd>(uint16_t containerPort)>;
  absl::StatusOr<nlohmann::ordered_json> publishTunnelled(const std::string& containerId,
                                                          const nlohmann::ordered_json& doc, PortDialer dial);
  // Container exit or removal. Idempotent.
  void tearDownSandbox(const std::string& containerId);
  // Daemon shutdown, before the runtime goes: no published port relays
  // (or dials through the runtime) any more.
  void closePublishedPorts();
  // Hot-plug into / out of a running container's namespace; returns the new settings entry.
  absl::StatusOr<nlohmann::ordered_json> attachRunning(const std::string& containerId, const std::string& containerName,
                                                       const std::string& networkId, const nlohmann::json& endpointConfig);
  absl::Status detachRunning(const std::string& containerId, const std::string& networkId);
  // NotFound unless a network of that id, name or prefix exists; its ID and name.
  absl::StatusOr<std::pair<std::string, std::string>> resolveNetwork(std::string_view idOrName);
  // --add-host's "ip\tname" lines for a container's /etc/hosts.
  absl::StatusOr<std::vector<std::string>> extraHostsOf(const nlohmann::ordered_json& hostConfig);
  // The Ports document of a container whose ports are served at `address`
  // (a pod's IP) rather than bound here: each published port at its own number.
  static nlohmann::ordered_json portsAt(const nlohmann::ordered_json& doc, const std::string& address);
  // A stopped container's NetworkSettings: what only a running one has is cleared.
  static void clearRunningSettings(nlohmann::ordered_json& networkSettings);
  // A running container's resolv.conf once it joins `networkId`: that
  // network's resolver; empty when it has none (the default bridge).
  std::string resolvConfFor(const nlohmann::ordered_json& hostConfig, const std::string& networkId);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  ContainerNetworking* containers_ = nullptr;
  NetworkOptions options_;
};

}  // namespace berth::engine
