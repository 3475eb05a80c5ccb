#include "daemon/config.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "util/strings.h"
#include "util/log.h"

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

absl::Status applyConfigJson(const json& file, const std::set<std::string>& fromFlags, DaemonConfig& cfg) {
  if (!file.is_object()) return absl::InvalidArgumentError("config file: want a JSON object");
  for (const auto& [key, value] : file.items()) {
    absl::Status s;
    // Command-line flags win over the file.
    bool skip = fromFlags.contains(key) || (key == "hosts" && fromFlags.contains("host")) ||
                (key == "labels" && fromFlags.contains("label")) ||
                (key == "insecure-registries" && fromFlags.contains("insecure-registry"));
    DaemonConfig scratch;
    DaemonConfig& c = skip ? scratch : cfg;  // still type-check skipped keys
    if (key == "hosts") {
      s = readValue(value, key, c.hosts);
    } else if (key == "data-root") {
      s = readValue(value, key, c.dataRoot);
    } else if (key == "backend") {
      s = readValue(value, key, c.backend);
    } else if (key == "log-level") {
      s = readValue(value, key, c.logLevel);
    } else if (key == "log-format") {
      s = readValue(value, key, c.logFormat);
    } else if (key == "labels") {
      s = readValue(value, key, c.labels);
    } else if (key == "group") {
      s = readValue(value, key, c.group);
    } else if (key == "tls") {
      s = readValue(value, key, c.tls);
    } else if (key == "tlsverify") {
      s = readValue(value, key, c.tlsVerify);
    } else if (key == "tlscacert") {
      s = readValue(value, key, c.tlsCaCert);
    } else if (key == "tlscert") {
      s = readValue(value, key, c.tlsCert);
    } else if (key == "tlskey") {
      s = readValue(value, key, c.tlsKey);
    } else if (key == "insecure-tcp") {
      s = readValue(value, key, c.insecureTcp);
    } else if (key == "request-read-timeout") {
      s = readValue(value, key, c.requestReadTimeout);
    } else if (key == "shutdown-timeout") {
      s = readValue(value, key, c.shutdownTimeout);
    } else if (key == "debug") {
      s = readValue(value, key, c.debug);
    } else if (key == "insecure-registries") {
      s = readValue(value, key, c.insecureRegistries);
    } else if (key == "max-concurrent-downloads") {
      s = readValue(value, key, c.maxConcurrentDownloads);
    } else if (key == "max-layer-bytes") {
      s = readValue(value, key, c.maxLayerBytes);
    } else if (key == "host-gateway-ip") {
      s = readValue(value, key, c.hostGatewayIp);
    } else {
      return absl::InvalidArgumentError(strCat("config file: unknown key \"", key, "\""));
    }
    if (!s.ok()) return s;
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
    return absl::UnimplementedError(
        "the kube backend is not available yet: it arrives with Berth's Kubernetes backend; use --backend local");
  }
  if (cfg.backend != "local") {
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

}  // namespace berth::daemon
