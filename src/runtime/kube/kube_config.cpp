#include "runtime/kube/kube_config.h"

#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "util/base64.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/unique_fd.h"
#include "yaml-cpp/yaml.h"

namespace berth::runtime::kube {
namespace {

// The entry of a kubeconfig list (clusters, users, contexts) named `name`.
// (A default YAML::Node is a defined null, so absence is an empty optional.)
std::optional<YAML::Node> namedEntry(const YAML::Node& doc, const char* list, const std::string& name,
                                     const char* inner) {
  const YAML::Node entries = doc[list];
  if (!entries || !entries.IsSequence()) return std::nullopt;
  for (const YAML::Node& e : entries) {
    if (e["name"] && e["name"].IsScalar() && e["name"].as<std::string>() == name && e[inner].IsMap()) return e[inner];
  }
  return std::nullopt;
}

std::string text(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

// Inline "<key>-data" (base64) wins over the file "<key>".
absl::StatusOr<std::string> material(const YAML::Node& n, const std::string& key, const std::string& baseDir) {
  std::string data = text(n, (key + "-data").c_str());
  if (!data.empty()) {
    std::optional<std::string> decoded = base64Decode(trim(data));
    if (!decoded) return absl::InvalidArgumentError(strCat("kubeconfig: ", key, "-data is not base64"));
    return *decoded;
  }
  std::string path = text(n, key.c_str());
  if (path.empty()) return std::string();
  if (path[0] != '/') path = strCat(baseDir, "/", path);
  std::string content = readFileOrEmpty(path);
  if (content.empty()) return absl::InvalidArgumentError(strCat("kubeconfig: cannot read ", key, " ", path));
  return content;
}

}  // namespace

absl::StatusOr<KubeConfig> parseKubeConfig(std::string_view yaml, const std::string& baseDir,
                                           const std::string& context) {
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(strCat("kubeconfig: ", e.what()));
  }
  if (!doc.IsMap()) return absl::InvalidArgumentError("kubeconfig: not a YAML mapping");
  try {
    std::string ctxName = context.empty() ? text(doc, "current-context") : context;
    if (ctxName.empty()) return absl::InvalidArgumentError("kubeconfig: no current-context and none given");
    std::optional<YAML::Node> ctxEntry = namedEntry(doc, "contexts", ctxName, "context");
    if (!ctxEntry) return absl::InvalidArgumentError(strCat("kubeconfig: no context named \"", ctxName, "\""));
    const YAML::Node& ctx = *ctxEntry;
    std::string clusterName = text(ctx, "cluster"), userName = text(ctx, "user");
    std::optional<YAML::Node> clusterEntry = namedEntry(doc, "clusters", clusterName, "cluster");
    if (!clusterEntry) return absl::InvalidArgumentError(strCat("kubeconfig: no cluster named \"", clusterName, "\""));
    const YAML::Node& cluster = *clusterEntry;
    KubeConfig c;
    c.server = text(cluster, "server");
    if (!c.server.starts_with("https://") && !c.server.starts_with("http://")) {
      return absl::InvalidArgumentError(strCat("kubeconfig: cluster \"", clusterName, "\" has no http(s) server"));
    }
    while (c.server.ends_with('/')) c.server.pop_back();
    BERTH_ASSIGN_OR_RETURN(c.caPem, material(cluster, "certificate-authority", baseDir));
    c.insecureSkipVerify = text(cluster, "insecure-skip-tls-verify") == "true";
    c.nameSpace = text(ctx, "namespace");
    if (c.nameSpace.empty()) c.nameSpace = "default";
    if (!userName.empty()) {
      std::optional<YAML::Node> userEntry = namedEntry(doc, "users", userName, "user");
      if (!userEntry) return absl::InvalidArgumentError(strCat("kubeconfig: no user named \"", userName, "\""));
      const YAML::Node& user = *userEntry;
      BERTH_ASSIGN_OR_RETURN(c.clientCertPem, material(user, "client-certificate", baseDir));
      BERTH_ASSIGN_OR_RETURN(c.clientKeyPem, material(user, "client-key", baseDir));
      if (c.clientCertPem.empty() != c.clientKeyPem.empty()) {
        return absl::InvalidArgumentError(strCat("kubeconfig: user \"", userName, "\" needs both a client certificate and key"));
      }
      c.token = text(user, "token");
      c.tokenFile = text(user, "tokenFile");
      if (!c.tokenFile.empty() && c.tokenFile[0] != '/') c.tokenFile = strCat(baseDir, "/", c.tokenFile);
      if (user["exec"] || user["auth-provider"]) {
        return absl::InvalidArgumentError(
            strCat("kubeconfig: user \"", userName, "\" authenticates with a plugin (exec/auth-provider), which Berth does not run; use a token or client certificate"));
      }
    }
    return c;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(strCat("kubeconfig: ", e.what()));
  }
}

absl::StatusOr<KubeConfig> inClusterConfig(const std::string& dir) {
  const char* host = getenv("KUBERNETES_SERVICE_HOST");
  const char* port = getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr || *host == 0) {
    return absl::FailedPreconditionError(
        "no kubeconfig found (--kubeconfig, $KUBECONFIG, ~/.kube/config) and not running in a pod");
  }
  KubeConfig c;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = strCat("[", h, "]");  // IPv6
  c.server = strCat("https://", h, ":", port);
  c.tokenFile = dir + "/token";
  if (readFileOrEmpty(c.tokenFile).empty()) {
    return absl::FailedPreconditionError(strCat("in-cluster config: no service-account token at ", c.tokenFile));
  }
  c.caPem = readFileOrEmpty(dir + "/ca.crt");
  c.nameSpace = std::string(trim(readFileOrEmpty(dir + "/namespace")));
  if (c.nameSpace.empty()) c.nameSpace = "default";
  return c;
}

absl::StatusOr<KubeConfig> loadKubeConfig(const std::string& path, const std::string& context) {
  std::string file = path;
  if (file.empty()) {
    if (const char* env = getenv("KUBECONFIG"); env != nullptr && *env != 0) {
      for (std::string_view p : split(env, ':', true)) {
        if (::access(std::string(p).c_str(), R_OK) == 0) {
          file = std::string(p);
          break;
        }
      }
    }
  }
  if (file.empty()) {
    if (const char* home = getenv("HOME"); home != nullptr && *home != 0) {
      std::string p = strCat(home, "/.kube/config");
      if (::access(p.c_str(), R_OK) == 0) file = p;
    }
  }
  if (file.empty()) return inClusterConfig();
  std::string content = readFileOrEmpty(file);
  if (content.empty()) return absl::InvalidArgumentError(strCat("cannot read kubeconfig ", file));
  std::string dir = file.find('/') == std::string::npos ? "." : file.substr(0, file.rfind('/'));
  absl::StatusOr<KubeConfig> c = parseKubeConfig(content, dir, context);
  if (!c.ok()) return absl::Status(c.status().code(), strCat(file, ": ", c.status().message()));
  return c;
}

}  // namespace berth::runtime::kube
