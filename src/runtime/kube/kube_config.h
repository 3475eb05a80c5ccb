#pragma once
// Where the Kubernetes API is and how to authenticate to it: a kubeconfig
// (its current context, or a named one) or the in-cluster service account,
// found as kubectl and kubedock find them.
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace berth::runtime::kube {

struct KubeConfig {
  std::string server;  // "https://host:port"
  std::string caPem;   // empty: the system's CAs
  bool insecureSkipVerify = false;
  std::string clientCertPem, clientKeyPem;
  std::string token;      // bearer token
  std::string tokenFile;  // read again for each request when set (service-account tokens rotate)
  std::string nameSpace;  // the context's namespace, the service account's, or "default"
};

// A kubeconfig document; relative file paths in it are taken from `baseDir`.
// `context` empty: its current-context.
absl::StatusOr<KubeConfig> parseKubeConfig(std::string_view yaml, const std::string& baseDir,
                                           const std::string& context = "");

// The service account mounted into a pod (`dir` holds token, ca.crt and
// namespace), with KUBERNETES_SERVICE_HOST/PORT from the environment.
absl::StatusOr<KubeConfig> inClusterConfig(const std::string& dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// `path` if given, else the first file of $KUBECONFIG, else ~/.kube/config,
// else the in-cluster service account.
absl::StatusOr<KubeConfig> loadKubeConfig(const std::string& path, const std::string& context = "");

}  // namespace berth::runtime::kube
