#include "runtime/kube/pod_template.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/kube/pod_builder.h"

namespace berth::runtime::kube {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

class PodTemplateTest : public ::testing::Test {
 protected:
  void TearDown() override { fs::remove(path_); }
  std::string write(const std::string& yaml) {
    std::ofstream(path_) << yaml;
    return path_;
  }
  std::string path_ = (fs::temp_directory_path() / ("berth-template-" + std::to_string(::getpid()) + ".yaml")).string();
};

TEST_F(PodTemplateTest, YamlKeepsItsTypes) {
  absl::StatusOr<json> t = loadPodTemplate(write(R"(
apiVersion: v1
kind: Pod
metadata:
  labels: {team: ci, "version": "2"}
spec:
  securityContext: {runAsNonRoot: true, fsGroup: 2000}
  tolerations: [{key: dedicated, operator: Equal, value: ci, effect: NoSchedule}]
  containers:
    - name: template
      image: ignored
      env: [{name: FROM, value: template}, {name: QUOTED, value: "007"}]
)"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)["spec"]["securityContext"], json::parse(R"({"runAsNonRoot":true,"fsGroup":2000})"));
  EXPECT_EQ((*t)["metadata"]["labels"]["version"], "2");
  EXPECT_EQ((*t)["spec"]["containers"][0]["env"][1]["value"], "007");
}

TEST_F(PodTemplateTest, WhatIsNotAPodIsRefused) {
  EXPECT_EQ(loadPodTemplate(write("kind: Service\n")).status().message(), "--pod-template " + path_ + ": not a Pod");
  EXPECT_EQ(loadPodTemplate(write("spec: [1]\n")).status().message(), "--pod-template " + path_ + ": its spec is not a map");
  EXPECT_EQ(loadPodTemplate(write("spec: {containers: [x]}\n")).status().message(),
            "--pod-template " + path_ + ": its containers are not a list of containers");
  EXPECT_FALSE(loadPodTemplate(write("spec: {a: [\n")).ok());
  EXPECT_FALSE(loadPodTemplate(path_ + ".missing").ok());
}

TEST_F(PodTemplateTest, BerthsSettingsLieOverTheTemplate) {
  PodOptions o;
  o.instance = "d41d8cd98f00";
  o.helperImage = "127.0.0.1:5000/berth-helper:1";
  o.nodeSelector = {{"disk", "ssd"}};
  o.imagePullSecrets = {"ours"};
  o.podTemplate = json::parse(R"({
    "metadata": {"name": "ignored", "labels": {"team": "ci", "berth.dev/instance": "not-ours"}, "annotations": {"a": "1"}},
    "spec": {"nodeSelector": {"zone": "a", "disk": "hdd"}, "tolerations": [{"key": "dedicated"}],
             "automountServiceAccountToken": true, "imagePullSecrets": [{"name": "theirs"}, {"name": "ours"}],
             "volumes": [{"name": "ignored"}], "initContainers": [{"name": "ignored"}],
             "containers": [{"name": "t", "image": "ignored", "command": ["ignored"],
                             "env": [{"name": "FROM", "value": "template"}, {"name": "GREETING", "value": "template"}],
                             "resources": {"requests": {"cpu": "10m"}},
                             "securityContext": {"allowPrivilegeEscalation": false}}]}})");
  ContainerSpec s;
  s.id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  s.image = "busybox";
  s.args = {"true"};
  s.env = {"GREETING=hello"};
  absl::StatusOr<json> pod = buildPod(s, o, PodRun{});
  ASSERT_TRUE(pod.ok()) << pod.status();
  const json& meta = (*pod)["metadata"];
  EXPECT_EQ(meta["name"], "berth-0123456789ab");
  EXPECT_EQ(meta["labels"]["team"], "ci");
  EXPECT_EQ(meta["labels"]["berth.dev/instance"], "d41d8cd98f00");
  EXPECT_EQ(meta["annotations"]["a"], "1");
  const json& spec = (*pod)["spec"];
  EXPECT_EQ(spec["nodeSelector"], json::parse(R"({"zone":"a","disk":"ssd"})"));
  EXPECT_EQ(spec["tolerations"], json::parse(R"([{"key":"dedicated"}])"));
  EXPECT_EQ(spec["automountServiceAccountToken"], false);
  EXPECT_EQ(spec["imagePullSecrets"], json::parse(R"([{"name":"theirs"},{"name":"ours"}])"));
  EXPECT_EQ(spec["volumes"].size(), 1u);  // Berth's own only
  ASSERT_EQ(spec["initContainers"].size(), 1u);
  EXPECT_EQ(spec["initContainers"][0]["name"], "berth-init");
  const json& main = spec["containers"][0];
  EXPECT_EQ(main["name"], "main");
  EXPECT_EQ(main["image"], "busybox");
  EXPECT_EQ(main["env"], json::parse(R"([{"name":"FROM","value":"template"},{"name":"GREETING","value":"hello"}])"));
  EXPECT_EQ(main["resources"]["requests"]["cpu"], "10m");
  EXPECT_EQ(main["securityContext"]["allowPrivilegeEscalation"], false);
  // The helper's containers start from the template too, keeping their own settings.
  const json& sidecar = spec["containers"][1];
  EXPECT_EQ(sidecar["resources"]["requests"], json::parse(R"({"cpu":"10m","memory":"8Mi"})"));
  EXPECT_EQ(sidecar["env"], json::parse(R"([{"name":"FROM","value":"template"},{"name":"GREETING","value":"template"}])"));
  EXPECT_EQ(spec["initContainers"][0]["securityContext"]["allowPrivilegeEscalation"], false);
  EXPECT_EQ(applyPodTemplate(nullptr, json{{"x", 1}}), json({{"x", 1}}));
}

}  // namespace
}  // namespace berth::runtime::kube
