#include "runtime/kube/kube_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "runtime/kube/kube_client.h"
#include "util/base64.h"

namespace berth::runtime::kube {
namespace {

const char* kTwoContexts = R"(apiVersion: v1
kind: Config
current-context: ci
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: )";

std::string twoContexts() {
  return std::string(kTwoContexts) + base64Encode("CA-PEM") + R"(
- name: other
  cluster:
    server: https://10.0.0.1:443
    insecure-skip-tls-verify: true
contexts:
- name: ci
  context: {cluster: test, user: admin, namespace: builds}
- name: second
  context: {cluster: other, user: robot}
users:
- name: admin
  user:
    client-certificate-data: )" + base64Encode("CERT") + R"(
    client-key: keys/admin.key
- name: robot
  user:
    token: s3cret
)";
}

class KubeConfigTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("berth-kubeconfig-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_ / "keys");
    std::ofstream(dir_ / "keys/admin.key") << "KEY";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(KubeConfigTest, CurrentContextWithInlineAndFileMaterial) {
  absl::StatusOr<KubeConfig> c = parseKubeConfig(twoContexts(), dir_.string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "https://127.0.0.1:6443");
  EXPECT_EQ(c->caPem, "CA-PEM");
  EXPECT_EQ(c->clientCertPem, "CERT");
  EXPECT_EQ(c->clientKeyPem, "KEY");
  EXPECT_EQ(c->nameSpace, "builds");
  EXPECT_FALSE(c->insecureSkipVerify);
  EXPECT_EQ(c->token, "");
}

TEST_F(KubeConfigTest, NamedContextWithTokenAndDefaultNamespace) {
  absl::StatusOr<KubeConfig> c = parseKubeConfig(twoContexts(), dir_.string(), "second");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "https://10.0.0.1:443");
  EXPECT_TRUE(c->insecureSkipVerify);
  EXPECT_EQ(c->token, "s3cret");
  EXPECT_EQ(c->nameSpace, "default");
}

TEST_F(KubeConfigTest, ClearErrors) {
  EXPECT_EQ(parseKubeConfig(twoContexts(), dir_.string(), "nope").status().message(),
            "kubeconfig: no context named \"nope\"");
  EXPECT_EQ(parseKubeConfig("[1, 2", dir_.string()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parseKubeConfig("just text", dir_.string()).status().message(), "kubeconfig: not a YAML mapping");
  std::filesystem::remove(dir_ / "keys/admin.key");
  EXPECT_EQ(parseKubeConfig(twoContexts(), dir_.string()).status().message(),
            "kubeconfig: cannot read client-key " + (dir_ / "keys/admin.key").string());
  const char* exec = R"(current-context: c
clusters: [{name: k, cluster: {server: "https://h:1"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {exec: {command: aws}}}]
)";
  EXPECT_EQ(parseKubeConfig(exec, dir_.string()).status().message(),
            "kubeconfig: user \"u\" authenticates with a plugin (exec/auth-provider), which Berth does not run; use a "
            "token or client certificate");
}

TEST_F(KubeConfigTest, InClusterServiceAccount) {
  std::ofstream(dir_ / "token") << "tok\n";
  std::ofstream(dir_ / "ca.crt") << "CA";
  std::ofstream(dir_ / "namespace") << "ci-jobs\n";
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  absl::StatusOr<KubeConfig> c = inClusterConfig(dir_.string());
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->caPem, "CA");
  EXPECT_EQ(c->nameSpace, "ci-jobs");
  EXPECT_EQ(c->tokenFile, (dir_ / "token").string());
  EXPECT_EQ(inClusterConfig(dir_.string()).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(KubeStatus, StatusBodiesBecomeTypedErrors) {
  const char* notFound = R"({"kind":"Status","status":"Failure","message":"pods \"x\" not found","reason":"NotFound","code":404})";
  absl::Status s = statusFromResponse(404, notFound);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "kubernetes: pods \"x\" not found");
  EXPECT_EQ(statusFromResponse(409, R"({"reason":"AlreadyExists","message":"m"})").code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(statusFromResponse(409, R"({"reason":"Conflict","message":"m"})").code(), absl::StatusCode::kAborted);
  EXPECT_EQ(statusFromResponse(403, "{}").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(statusFromResponse(410, "{}").code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(statusFromResponse(503, "busy").message(), "kubernetes: busy");
  EXPECT_EQ(statusFromResponse(422, "").message(), "kubernetes: HTTP status 422");
}

TEST(KubeStatus, QueryEscape) {
  EXPECT_EQ(queryEscape("berth.dev/instance=ab12,x!=y"), "berth.dev%2Finstance%3Dab12%2Cx%21%3Dy");
}

}  // namespace
}  // namespace berth::runtime::kube
