#include "runtime/kube/pod_builder.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "absl/strings/ascii.h"
#include "runtime/kube/names.h"
#include "runtime/kube/pod_template.h"
#include "util/base64.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::runtime::kube {
namespace {

using json = nlohmann::json;

// "1000", "1000:1000" → runAsUser/runAsGroup; names cannot be resolved
// without the image's /etc/passwd, which only the node has.
absl::Status applyUser(const std::string& user, json& securityContext) {
  if (user.empty()) return absl::OkStatus();
  auto [u, g] = splitOnce(user, ':');
  int64_t uid = 0, gid = 0;
  if (!parseInt(u, uid) || uid < 0) {
    return absl::InvalidArgumentError(strCat("the kube backend runs containers with numeric users only (User \"", user,
                                             "\"): use --user UID[:GID]"));
  }
  securityContext["runAsUser"] = uid;
  if (!g.empty()) {
    if (!parseInt(g, gid) || gid < 0) {
      return absl::InvalidArgumentError(strCat("the kube backend runs containers with numeric groups only (User \"", user, "\")"));
    }
    securityContext["runAsGroup"] = gid;
  }
  return absl::OkStatus();
}

// Millicores from a CFS quota and period (µs).
std::string cpuQuantity(int64_t quota, int64_t period) {
  if (period <= 0) period = 100000;
  int64_t milli = (quota * 1000 + period - 1) / period;
  return strCat(std::max<int64_t>(milli, 1), "m");
}

// Docker's sizes ("64m", "1g", "512kb", bytes) are binary units; Kubernetes'
// "m" is a thousandth, so spell them as Mi, Gi.
std::string quantityOfSize(std::string_view size) {
  std::string q = toLower(size);
  if (q.ends_with('b')) q.pop_back();
  if (!q.empty() && std::string_view("kmgt").find(q.back()) != std::string_view::npos) {
    char unit = static_cast<char>(q.back() - 'a' + 'A');
    q.pop_back();
    q += unit;
    q += 'i';
  }
  return q;
}

}  // namespace

absl::StatusOr<json> hostAliases(const std::vector<std::string>& hostsLines) {
  std::map<std::string, std::vector<std::string>> byIp;
  std::vector<std::string> order;
  for (const std::string& line : hostsLines) {
    auto [ipView, namesView] = splitOnce(line, '\t');
    std::string ip(ipView);
    unsigned char buf[16];
    if (inet_pton(AF_INET, ip.c_str(), buf) != 1 && inet_pton(AF_INET6, ip.c_str(), buf) != 1) {
      return absl::InvalidArgumentError(strCat("invalid IP address in extra hosts: \"", ip, "\""));
    }
    if (!byIp.contains(ip)) order.push_back(ip);
    std::vector<std::string>& names = byIp[ip];
    for (std::string_view n : split(namesView, ' ', true)) {
      // Kubernetes takes only DNS names here; /etc/hosts lookups ignore case anyway.
      std::string name = toLower(n);
      if (validDnsSubdomain(name) && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  json out = json::array();
  for (const std::string& ip : order) {
    if (!byIp[ip].empty()) out.push_back({{"ip", ip}, {"hostnames", byIp[ip]}});
  }
  return out;
}

json buildService(const ContainerSpec& spec, const PodOptions& options) {
  json ports = json::array();
  for (const Port& p : spec.ports) {
    std::string proto = toLower(p.protocol);
    if ((proto != "tcp" && proto != "udp") || p.containerPort <= 0 || p.containerPort > 65535) continue;
    ports.push_back({{"name", strCat(proto, "-", p.containerPort)},
                     {"protocol", absl::AsciiStrToUpper(proto)},
                     {"port", p.containerPort},
                     {"targetPort", p.containerPort}});
  }
  if (ports.empty()) return nullptr;
  json selector = {{kInstanceLabel, options.instance}, {kContainerLabel, spec.id.substr(0, 12)}};
  return json{
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata", {{"name", podName(options, spec.id)}, {"labels", selector}}},
      {"spec", {{"type", "ClusterIP"}, {"selector", selector}, {"ports", std::move(ports)}}},
  };
}

std::string sidecarSocketPath(const std::string& destination) {
  return strCat("/berth-socket", destination.substr(destination.rfind('/')));
}

std::string bindStagingDir(size_t mountIndex) { return strCat("/berth-binds/", mountIndex); }

json buildBindFiles(const ContainerSpec& spec, const PodOptions& options, const std::map<size_t, std::string>& contents) {
  json data = json::object();
  for (const auto& [i, content] : contents) data[strCat("bind-", i)] = base64Encode(content);
  return json{
      {"apiVersion", "v1"},
      {"kind", "ConfigMap"},
      {"metadata", {{"name", podName(options, spec.id)},
                    {"labels", {{kInstanceLabel, options.instance}, {kContainerLabel, spec.id.substr(0, 12)}}}}},
      {"binaryData", std::move(data)},
  };
}

std::string podName(const PodOptions& options, const std::string& containerId) {
  return strCat(options.namePrefix, "-", containerId.substr(0, 12));
}

absl::StatusOr<json> buildPod(const ContainerSpec& spec, const PodOptions& options, const PodRun& run) {
  if (spec.image.empty()) return absl::InvalidArgumentError("the container has no image to run");
  if (options.helperImage.empty()) return absl::FailedPreconditionError("no helper image configured (--helper-image)");
  // What would hand a container the node: refused, as kubedock's users ask.
  if (spec.privileged) return absl::InvalidArgumentError("the kube backend does not run privileged containers");
  for (auto [mode, what] : {std::pair{&spec.netMode, "network"}, {&spec.pidMode, "PID"}, {&spec.ipcMode, "IPC"},
                            {&spec.utsMode, "UTS"}}) {
    if (*mode == "host") {
      return absl::InvalidArgumentError(strCat("the kube backend does not share the node's ", what, " namespace (host mode)"));
    }
  }
  std::string id12 = spec.id.substr(0, 12);

  json labels = json::object();
  for (const auto& [k, v] : spec.labels) {
    if (validLabelKey(k) && validLabelValue(v)) labels[k] = v;  // the others are in the annotation below
  }
  for (const auto& [k, v] : options.labels) labels[k] = v;
  labels[kInstanceLabel] = options.instance;
  labels[kContainerLabel] = id12;
  json annotations = json::object();
  for (const auto& [k, v] : options.annotations) annotations[k] = v;
  annotations[kIdAnnotation] = spec.id;
  annotations[kNameAnnotation] = spec.name;
  if (!spec.labels.empty()) annotations["berth.dev/labels"] = json(spec.labels).dump();

  json helperMount = {{"name", "berth"}, {"mountPath", kHelperDir}};
  std::string helperPath = strCat(kHelperDir, "/", kHelperBinary);

  json main = json::object();
  main["name"] = kMainContainer;
  main["image"] = spec.image;
  std::string pullPolicy = options.containerPullPolicy.empty() ? options.pullPolicy : options.containerPullPolicy;
  if (!pullPolicy.empty()) main["imagePullPolicy"] = pullPolicy;
  json command = json::array({helperPath, "run"});
  if (run.gate) command.push_back("--gate");
  if (spec.terminal) command.push_back("--tty");
  command.push_back("--");
  for (const std::string& a : spec.args) command.push_back(a);
  main["command"] = std::move(command);
  json env = json::array();
  for (const std::string& e : spec.env) {
    auto [k, v] = splitOnce(e, '=');
    if (k.empty()) continue;
    env.push_back({{"name", std::string(k)}, {"value", std::string(v)}});
  }
  main["env"] = std::move(env);
  if (!spec.cwd.empty()) main["workingDir"] = spec.cwd;
  main["tty"] = spec.terminal;
  main["stdin"] = run.openStdin;
  main["stdinOnce"] = run.stdinOnce;
  json securityContext = json::object();
  BERTH_RETURN_IF_ERROR(applyUser(spec.user, securityContext));
  if (options.runAsUser >= 0) securityContext["runAsUser"] = options.runAsUser;
  if (spec.readonlyRootfs) securityContext["readOnlyRootFilesystem"] = true;
  if (!securityContext.empty()) main["securityContext"] = std::move(securityContext);

  json requests = json::object(), limits = json::object();
  auto addRequest = [&](const char* name, const ResourceRequest& r) {
    if (!r.request.empty()) requests[name] = r.request;
    if (!r.limit.empty()) limits[name] = r.limit;
  };
  addRequest("cpu", options.cpu);
  addRequest("memory", options.memory);
  addRequest("ephemeral-storage", options.ephemeralStorage);
  if (spec.resources.memory > 0 && !options.ignoreContainerMemory) limits["memory"] = strCat(spec.resources.memory);
  if (spec.resources.cpuQuota > 0) limits["cpu"] = cpuQuantity(spec.resources.cpuQuota, spec.resources.cpuPeriod);
  json resources = json::object();
  if (!requests.empty()) resources["requests"] = std::move(requests);
  if (!limits.empty()) resources["limits"] = std::move(limits);
  if (!resources.empty()) main["resources"] = std::move(resources);

  json ports = json::array();
  for (const Port& p : spec.ports) {
    std::string proto = toLower(p.protocol);
    if (proto != "tcp" && proto != "udp" && proto != "sctp") continue;
    ports.push_back({{"containerPort", p.containerPort}, {"protocol", absl::AsciiStrToUpper(proto)}});
  }
  if (!ports.empty()) main["ports"] = std::move(ports);
  main["volumeMounts"] = json::array({helperMount});
  json volumes = json::array({{{"name", "berth"}, {"emptyDir", json::object()}}});
  json sidecarMounts = json::array({helperMount});
  json fileItems = json::array();
  std::string socketPath;  // where the sidecar serves the Docker socket
  // Parents before what is mounted inside them, as dockerd orders mounts.
  std::vector<size_t> order(spec.mounts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    auto depth = [](const std::string& p) { return std::count(p.begin(), p.end(), '/'); };
    return depth(spec.mounts[a].destination) < depth(spec.mounts[b].destination);
  });
  for (size_t i : order) {
    const Mount& m = spec.mounts[i];
    json mount = {{"mountPath", m.destination}, {"readOnly", m.readOnly}};
    if (m.type == "tmpfs") {  // a memory-backed emptyDir
      json emptyDir = {{"medium", "Memory"}};
      for (std::string_view opt : split(m.options, ',', true)) {
        if (opt.starts_with("size=")) emptyDir["sizeLimit"] = quantityOfSize(opt.substr(5));
      }
      mount["name"] = strCat("tmpfs-", i);
      volumes.push_back({{"name", mount["name"]}, {"emptyDir", emptyDir}});
    } else if (!m.volumeHandle.empty()) {  // a claim (volume_claims.h), shared with the volume's other containers
      mount["name"] = strCat("vol-", i);
      volumes.push_back({{"name", mount["name"]},
                         {"persistentVolumeClaim", {{"claimName", m.volumeHandle}, {"readOnly", m.readOnly}}}});
    } else if (!m.volume.empty()) {
      mount["name"] = strCat("vol-", i);
      volumes.push_back({{"name", mount["name"]}, {"emptyDir", json::object()}});
    } else if (auto b = run.binds.find(i); b == run.binds.end()) {
      return absl::InvalidArgumentError(strCat("the bind mount at ", m.destination, " has no source opened for the pod"));
    } else if (b->second.socket) {
      size_t slash = m.destination.rfind('/');
      if (slash == 0 || slash == std::string::npos || !socketPath.empty()) {
        return absl::InvalidArgumentError(strCat("the kube backend serves one Docker socket per container, in a directory "
                                                 "of its own (not at /): ", m.destination));
      }
      socketPath = sidecarSocketPath(m.destination);
      mount["name"] = "docker-socket";
      mount["mountPath"] = m.destination.substr(0, slash);
      mount["readOnly"] = false;
      volumes.push_back({{"name", "docker-socket"}, {"emptyDir", json::object()}});
      sidecarMounts.push_back({{"name", "docker-socket"}, {"mountPath", "/berth-socket"}});
    } else if (b->second.directory) {
      mount["name"] = strCat("bind-", i);
      volumes.push_back({{"name", mount["name"]}, {"emptyDir", json::object()}});
      sidecarMounts.push_back({{"name", mount["name"]}, {"mountPath", bindStagingDir(i)}});
    } else {
      mount["name"] = "files";
      mount["subPath"] = strCat("bind-", i);
      mount["readOnly"] = true;
      fileItems.push_back({{"key", strCat("bind-", i)}, {"path", strCat("bind-", i)}, {"mode", b->second.fileMode & 0777}});
    }
    main["volumeMounts"].push_back(std::move(mount));
  }
  if (!fileItems.empty()) {
    volumes.push_back({{"name", "files"}, {"configMap", {{"name", podName(options, spec.id)}, {"items", fileItems}}}});
  }

  json init = {
      {"name", "berth-init"},
      {"image", options.helperImage},
      {"command", json::array({strCat("/", kHelperBinary), "install", kHelperDir})},
      {"volumeMounts", json::array({helperMount})},
  };
  json serve = json::array({strCat("/", kHelperBinary), "serve"});
  if (!socketPath.empty()) {
    serve.insert(serve.end(), {"--docker-socket", socketPath, "--tunnel-port", strCat(kSocketTunnelPort)});
    annotations[kSocketAnnotation] = strCat(kSocketTunnelPort);
  }
  json sidecar = {
      {"name", kSidecarContainer},
      {"image", options.helperImage},
      {"command", std::move(serve)},
      {"volumeMounts", std::move(sidecarMounts)},
      {"resources", {{"requests", {{"cpu", "10m"}, {"memory", "8Mi"}}}, {"limits", {{"memory", "32Mi"}}}}},
  };
  if (!options.pullPolicy.empty()) {
    init["imagePullPolicy"] = options.pullPolicy;
    sidecar["imagePullPolicy"] = options.pullPolicy;
  }

  json podSpec = json::object();
  podSpec["restartPolicy"] = "Never";
  podSpec["automountServiceAccountToken"] = false;
  podSpec["terminationGracePeriodSeconds"] = std::max<int64_t>(run.stopTimeoutSeconds, 0) + 5;
  if (validDnsLabel(spec.hostname)) podSpec["hostname"] = spec.hostname;
  BERTH_ASSIGN_OR_RETURN(json aliases, hostAliases(spec.extraHosts));
  if (!aliases.empty()) podSpec["hostAliases"] = std::move(aliases);
  podSpec["volumes"] = std::move(volumes);
  podSpec["initContainers"] = json::array({std::move(init)});
  podSpec["containers"] = json::array({std::move(main), std::move(sidecar)});
  if (!options.serviceAccount.empty()) podSpec["serviceAccountName"] = options.serviceAccount;
  if (!options.imagePullSecrets.empty()) {
    json secrets = json::array();
    for (const std::string& s : options.imagePullSecrets) secrets.push_back({{"name", s}});
    podSpec["imagePullSecrets"] = std::move(secrets);
  }
  if (!options.nodeSelector.empty()) podSpec["nodeSelector"] = options.nodeSelector;
  if (options.activeDeadlineSeconds > 0) podSpec["activeDeadlineSeconds"] = options.activeDeadlineSeconds;

  return applyPodTemplate(options.podTemplate, json{
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", podName(options, spec.id)}, {"labels", std::move(labels)}, {"annotations", std::move(annotations)}}},
      {"spec", std::move(podSpec)},
  });
}

}  // namespace berth::runtime::kube
