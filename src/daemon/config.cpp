#include "daemon/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "runtime/kube/bind_source.h"
#include "runtime/kube/names.h"
#include "runtime/kube/pod_settings.h"
#include "runtime/kube/pod_template.h"
#include "runtime/kube/pod_builder.h"
#include "util/log.h"
#include "util/status.h"
#include "util/strings.h"

extern char** environ;

namespace berth::daemon {
namespace {

using nlohmann::json;

template <class T>
absl::Status readValue(const json& v, std::string_view key, T& out) {
  try {
    out = v.get<T>();
    return absl::OkStatus();
  } catch (const json::exception&) {
    return absl::InvalidArgumentError(strCat("config file: key \"", key, "\" has a value of the wrong type"));
  }
}

}  // namespace

GetEnv processEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

namespace {

// One config-file key: the long flag that overrides it and how it is read.
struct Key {
  const char* name;
  const char* flag;
  std::function<absl::Status(const json&, std::string_view, DaemonConfig&)> read;
};

template <class T>
Key key(const char* name, T DaemonConfig::*member, const char* flag = nullptr) {
  return {name, flag ? flag : name,
          [member](const json& v, std::string_view k, DaemonConfig& c) { return readValue(v, k, c.*member); }};
}

const std::vector<Key>& keys() {
  static const std::vector<Key> k = {
      key("hosts", &DaemonConfig::hosts, "host"),
      key("data-root", &DaemonConfig::dataRoot),
      key("backend", &DaemonConfig::backend),
      key("log-level", &DaemonConfig::logLevel),
      key("log-format", &DaemonConfig::logFormat),
      key("labels", &DaemonConfig::labels, "label"),
      key("group", &DaemonConfig::group),
      key("tls", &DaemonConfig::tls),
      key("tlsverify", &DaemonConfig::tlsVerify),
      key("tlscacert", &DaemonConfig::tlsCaCert),
      key("tlscert", &DaemonConfig::tlsCert),
      key("tlskey", &DaemonConfig::tlsKey),
      key("insecure-tcp", &DaemonConfig::insecureTcp),
      key("request-read-timeout", &DaemonConfig::requestReadTimeout),
      key("shutdown-timeout", &DaemonConfig::shutdownTimeout),
      key("debug", &DaemonConfig::debug),
      key("insecure-registries", &DaemonConfig::insecureRegistries, "insecure-registry"),
      key("max-concurrent-downloads", &DaemonConfig::maxConcurrentDownloads),
      key("max-layer-bytes", &DaemonConfig::maxLayerBytes),
      key("host-gateway-ip", &DaemonConfig::hostGatewayIp),
      key("kubeconfig", &DaemonConfig::kubeconfig),
      key("context", &DaemonConfig::kubeContext),
      key("namespace", &DaemonConfig::kubeNamespace),
      key("timeout", &DaemonConfig::kubeTimeout),
      key("helper-image", &DaemonConfig::helperImage),
      key("pod-name-prefix", &DaemonConfig::podNamePrefix),
      key("pull-policy", &DaemonConfig::pullPolicy),
      key("image-pull-secrets", &DaemonConfig::imagePullSecrets),
      key("node-selector", &DaemonConfig::nodeSelector),
      key("service-account", &DaemonConfig::serviceAccount),
      key("active-deadline-seconds", &DaemonConfig::activeDeadlineSeconds),
      key("runas-user", &DaemonConfig::runasUser),
      key("ignore-container-memory", &DaemonConfig::ignoreContainerMemory),
      key("request-cpu", &DaemonConfig::requestCpu),
      key("request-memory", &DaemonConfig::requestMemory),
      key("request-ephemeral-storage", &DaemonConfig::requestEphemeralStorage),
      key("pod-labels", &DaemonConfig::podLabels, "pod-label"),
      key("annotations", &DaemonConfig::podAnnotations, "annotation"),
      key("port-forward", &DaemonConfig::portForward),
      key("reverse-proxy", &DaemonConfig::reverseProxy),
      key("bind-roots", &DaemonConfig::bindRoots, "bind-root"),
      key("prune-start", &DaemonConfig::pruneStart),
      key("lock", &DaemonConfig::lock),
      key("pod-template", &DaemonConfig::podTemplate),
      key("lock-timeout", &DaemonConfig::lockTimeout),
      key("reapmax", &DaemonConfig::reapMax),
      key("storage-class", &DaemonConfig::storageClass),
      key("volume-size", &DaemonConfig::volumeSize),
      key("disable-dind", &DaemonConfig::disableDind),
  };
  return k;
}

}  // namespace

absl::Status applyConfigJson(const json& file, const std::set<std::string>& fromFlags, DaemonConfig& cfg) {
  if (!file.is_object()) return absl::InvalidArgumentError("config file: want a JSON object");
  for (const auto& item : file.items()) {
    // Plain names, not a structured binding: clang 14 cannot capture those in a lambda.
    const std::string& name = item.key();
    const json& value = item.value();
    auto k = std::find_if(keys().begin(), keys().end(), [&](const Key& x) { return name == x.name; });
    if (k == keys().end()) return absl::InvalidArgumentError(strCat("config file: unknown key \"", name, "\""));
    // Command-line flags win over the file; skipped keys are still type-checked.
    DaemonConfig scratch;
    if (absl::Status s = k->read(value, name, fromFlags.contains(k->flag) ? scratch : cfg); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status applyConfigFile(const std::string& path, const std::set<std::string>& fromFlags, DaemonConfig& cfg) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(strCat("config file ", path, ": cannot be read"));
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(strCat("config file ", path, ": invalid JSON"));
  absl::Status s = applyConfigJson(j, fromFlags, cfg);
  if (!s.ok()) return absl::Status(s.code(), strCat(path, ": ", s.message()));
  return absl::OkStatus();
}

std::string defaultConfigFile(bool root, const GetEnv& env) {
  if (root) return "/etc/berth/daemon.json";
  if (auto x = env("XDG_CONFIG_HOME"); x && !x->empty()) return *x + "/berth/daemon.json";
  if (auto h = env("HOME"); h && !h->empty()) return *h + "/.config/berth/daemon.json";
  return "";
}

absl::Status resolveDefaults(DaemonConfig& cfg, bool root, const GetEnv& env) {
  if (cfg.hosts.empty()) {
    if (root) {
      cfg.hosts.push_back("unix:///run/berth/berth.sock");
    } else {
      auto runtimeDir = env("XDG_RUNTIME_DIR");
      if (!runtimeDir || runtimeDir->empty()) {
        return absl::FailedPreconditionError(
            "XDG_RUNTIME_DIR is not set: give a socket with -H unix:///path/berth.sock");
      }
      cfg.hosts.push_back("unix://" + *runtimeDir + "/berth/berth.sock");
    }
  }
  if (cfg.dataRoot.empty()) {
    if (root) {
      cfg.dataRoot = "/var/lib/berth";
    } else if (auto x = env("XDG_DATA_HOME"); x && !x->empty()) {
      cfg.dataRoot = *x + "/berth";
    } else if (auto h = env("HOME"); h && !h->empty()) {
      cfg.dataRoot = *h + "/.local/share/berth";
    } else {
      return absl::FailedPreconditionError("neither XDG_DATA_HOME nor HOME is set: give --data-root");
    }
  }
  if (cfg.debug) cfg.logLevel = "debug";
  return absl::OkStatus();
}

absl::Status validate(const DaemonConfig& cfg) {
  if (cfg.backend == "kube") {
    if (auto k = kubeSettings(cfg, {}); !k.ok()) return k.status();
  } else if (cfg.backend != "local") {
    return absl::InvalidArgumentError(strCat("unknown backend \"", cfg.backend, "\" (want local or kube)"));
  }
  if (auto l = log::parseLevel(cfg.logLevel); !l.ok()) return l.status();
  if (in_addr a{}; !cfg.hostGatewayIp.empty() && ::inet_pton(AF_INET, cfg.hostGatewayIp.c_str(), &a) != 1) {
    return absl::InvalidArgumentError(strCat("invalid host-gateway-ip \"", cfg.hostGatewayIp, "\": want an IPv4 address"));
  }
  if (auto f = log::parseFormat(cfg.logFormat); !f.ok()) return f.status();
  for (const std::string& label : cfg.labels) {
    if (label.find('=') == std::string::npos || label.front() == '=') {
      return absl::InvalidArgumentError(strCat("invalid label \"", label, "\": want key=value"));
    }
  }
  if (cfg.tlsVerify && (cfg.tlsCaCert.empty() || cfg.tlsCert.empty() || cfg.tlsKey.empty())) {
    return absl::InvalidArgumentError("--tlsverify needs --tlscacert, --tlscert and --tlskey");
  }
  if (cfg.tls && (cfg.tlsCert.empty() || cfg.tlsKey.empty())) {
    return absl::InvalidArgumentError("--tls needs --tlscert and --tlskey");
  }
  if (cfg.requestReadTimeout <= 0) return absl::InvalidArgumentError("--request-read-timeout must be positive");
  if (cfg.shutdownTimeout < 0) return absl::InvalidArgumentError("--shutdown-timeout must not be negative");
  if (cfg.maxConcurrentDownloads < 1 || cfg.maxConcurrentDownloads > 64) {
    return absl::InvalidArgumentError("--max-concurrent-downloads must be between 1 and 64");
  }
  if (cfg.maxLayerBytes < 1) return absl::InvalidArgumentError("--max-layer-bytes must be positive");
  if (cfg.dataRoot.empty() || cfg.dataRoot.front() != '/') {
    return absl::InvalidArgumentError(strCat("--data-root must be an absolute path, not \"", cfg.dataRoot, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> parseDurationSeconds(std::string_view text) {
  int64_t n = 0;
  if (parseInt(text, n)) return n;  // bare seconds
  int64_t total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    int64_t scale = digits < rest.size() ? (rest[digits] == 'h' ? 3600 : rest[digits] == 'm' ? 60 : rest[digits] == 's' ? 1 : 0) : 0;
    if (digits == 0 || scale == 0 || !parseInt(rest.substr(0, digits), n) || n > (int64_t(1) << 40)) {
      return absl::InvalidArgumentError(strCat("invalid duration \"", text, "\": want e.g. 90s, 2m or 1m30s"));
    }
    total += n * scale;
    rest.remove_prefix(digits + 1);
  }
  if (text.empty()) return absl::InvalidArgumentError("invalid duration \"\": want e.g. 90s, 2m or 1m30s");
  return total;
}

std::vector<std::string> processEnvironment() {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) out.emplace_back(*e);
  return out;
}

namespace {

absl::Status requestPair(std::string_view flag, const std::string& text, runtime::kube::ResourceRequest& out) {
  return runtime::kube::parseRequestPair(strCat("--", flag), text, out);
}

absl::Status keyValues(std::string_view flag, const std::vector<std::string>& entries, bool labelValues,
                       std::map<std::string, std::string>& out) {
  for (const std::string& entry : entries) {
    BERTH_RETURN_IF_ERROR(runtime::kube::parseKeyValues(strCat("--", flag), entry, labelValues, out));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<runtime::kube::KubeBackendOptions> kubeSettings(const DaemonConfig& cfg, const std::vector<std::string>& environment) {
  runtime::kube::KubeBackendOptions options;
  options.kubeconfig = cfg.kubeconfig;
  options.context = cfg.kubeContext;
  options.nameSpace = cfg.kubeNamespace;
  runtime::kube::PodOptions& k = options.runtime.pod;
  absl::StatusOr<int64_t> timeout = parseDurationSeconds(cfg.kubeTimeout);
  if (!timeout.ok() || *timeout <= 0) {
    return absl::InvalidArgumentError(strCat("--timeout: invalid duration \"", cfg.kubeTimeout, "\": want e.g. 90s, 2m or 1m30s"));
  }
  options.runtime.startTimeoutSeconds = *timeout;
  if (cfg.helperImage.empty()) {
    return absl::InvalidArgumentError(
        "the kube backend needs --helper-image: a repository:tag in a registry the cluster pulls from, where Berth "
        "publishes its in-pod helper (e.g. registry.example:5000/berth/helper:latest)");
  }
  k.helperImage = cfg.helperImage;
  // The pod's name is the prefix, '-' and 12 hex digits: a DNS label of at most 63.
  const std::string& prefix = cfg.podNamePrefix;
  bool prefixOk = !prefix.empty() && prefix.size() <= 50 && std::isalnum(static_cast<unsigned char>(prefix[0])) &&
                  std::all_of(prefix.begin(), prefix.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                  });
  if (!prefixOk) {
    return absl::InvalidArgumentError(strCat("--pod-name-prefix \"", prefix, "\": want at most 50 lower-case letters, digits and '-', starting with a letter or digit"));
  }
  k.namePrefix = prefix;
  BERTH_ASSIGN_OR_RETURN(k.pullPolicy, runtime::kube::parsePullPolicy("--pull-policy", cfg.pullPolicy));
  for (const std::string& entry : cfg.imagePullSecrets) {
    for (std::string_view name : split(entry, ',')) {
      if (!name.empty()) k.imagePullSecrets.emplace_back(name);
    }
  }
  k.serviceAccount = cfg.serviceAccount;
  BERTH_RETURN_IF_ERROR(keyValues("node-selector", cfg.nodeSelector, true, k.nodeSelector));
  // kubedock's variables first, so the flags win.
  for (const std::string& var : environment) {
    auto [name, value] = splitOnce(var, '=');
    for (auto [prefixVar, target] : {std::pair{std::string_view("K8S_LABEL_"), &k.labels},
                                     std::pair{std::string_view("K8S_ANNOTATION_"), &k.annotations}}) {
      if (!name.starts_with(prefixVar) || name.size() == prefixVar.size()) continue;
      std::string key = toLower(name.substr(prefixVar.size()));
      if (!runtime::kube::validLabelKey(key) || (target == &k.labels && !runtime::kube::validLabelValue(value))) {
        return absl::InvalidArgumentError(strCat(name, ": not a valid Kubernetes ",
                                                 target == &k.labels ? "label" : "annotation"));
      }
      (*target)[key] = std::string(value);
    }
  }
  BERTH_RETURN_IF_ERROR(keyValues("pod-label", cfg.podLabels, true, k.labels));
  BERTH_RETURN_IF_ERROR(keyValues("annotation", cfg.podAnnotations, false, k.annotations));
  k.activeDeadlineSeconds = std::max<int64_t>(cfg.activeDeadlineSeconds, 0);
  if (cfg.runasUser < -1) return absl::InvalidArgumentError("--runas-user must be a user id (or -1: the image's)");
  k.runAsUser = cfg.runasUser;
  k.ignoreContainerMemory = cfg.ignoreContainerMemory;
  BERTH_RETURN_IF_ERROR(requestPair("request-cpu", cfg.requestCpu, k.cpu));
  BERTH_RETURN_IF_ERROR(requestPair("request-memory", cfg.requestMemory, k.memory));
  BERTH_RETURN_IF_ERROR(requestPair("request-ephemeral-storage", cfg.requestEphemeralStorage, k.ephemeralStorage));
  if (cfg.portForward && cfg.reverseProxy) {
    return absl::InvalidArgumentError("--port-forward and --reverse-proxy are mutually exclusive");
  }
  options.runtime.ports = cfg.portForward   ? runtime::kube::PortAccess::kPortForward
                          : cfg.reverseProxy ? runtime::kube::PortAccess::kReverseProxy
                                             : runtime::kube::PortAccess::kNone;
  BERTH_ASSIGN_OR_RETURN(options.runtime.bindRoots, runtime::kube::canonicalBindRoots(cfg.bindRoots));
  options.runtime.pruneStart = cfg.pruneStart;
  absl::StatusOr<int64_t> reapMax = parseDurationSeconds(cfg.reapMax);
  if (!reapMax.ok()) {
    return absl::InvalidArgumentError(strCat("--reapmax: invalid duration \"", cfg.reapMax, "\": want e.g. 60m, 1h or 0 (never)"));
  }
  options.runtime.reapMaxSeconds = *reapMax;
  absl::StatusOr<int64_t> lockTimeout = parseDurationSeconds(cfg.lockTimeout);
  if (!lockTimeout.ok() || *lockTimeout <= 0) {
    return absl::InvalidArgumentError(strCat("--lock-timeout: invalid duration \"", cfg.lockTimeout, "\": want e.g. 15m or 90s"));
  }
  options.runtime.lockTimeoutSeconds = cfg.lock ? *lockTimeout : 0;
  // Docker sockets in pods reach Berth's first unix listener.
  for (const std::string& h : cfg.hosts) {
    if (h.starts_with("unix://")) {
      options.runtime.apiSocket = h.substr(7);
      break;
    }
  }
  if (!cfg.podTemplate.empty()) {
    BERTH_ASSIGN_OR_RETURN(k.podTemplate, runtime::kube::loadPodTemplate(cfg.podTemplate));
  }
  if (!cfg.storageClass.empty() && !runtime::kube::validDnsSubdomain(cfg.storageClass)) {
    return absl::InvalidArgumentError(strCat("--storage-class \"", cfg.storageClass, "\": not a Kubernetes object name"));
  }
  if (!runtime::kube::validQuantity(cfg.volumeSize)) {
    return absl::InvalidArgumentError(strCat("--volume-size \"", cfg.volumeSize, "\": not a Kubernetes quantity (e.g. 1Gi)"));
  }
  options.runtime.volumes = {cfg.storageClass, cfg.volumeSize};
  options.runtime.disableDind = cfg.disableDind;
  return options;
}

}  // namespace berth::daemon
