#include "runtime/kube/pod_builder.h"

#include <gtest/gtest.h>

#include "runtime/kube/names.h"

namespace berth::runtime::kube {
namespace {

using json = nlohmann::json;

ContainerSpec busybox() {
  ContainerSpec s;
  s.id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  s.name = "web";
  s.image = "127.0.0.1:5000/busybox:latest";
  s.args = {"httpd", "-f", "-p", "8080"};
  s.env = {"PATH=/bin", "GREETING=a=b"};
  s.cwd = "/srv";
  s.hostname = "0123456789ab";
  s.labels = {{"app", "web"}, {"com.example/Bad Key", "x"}, {"long", std::string(70, 'v')}};
  s.ports = {{8080, "tcp"}, {53, "udp"}};
  return s;
}

Mount mount(std::string type, std::string source, std::string destination, bool readOnly, std::string volume = "",
            std::string options = "") {
  Mount m;
  m.type = std::move(type);
  m.source = std::move(source);
  m.destination = std::move(destination);
  m.readOnly = readOnly;
  m.volume = std::move(volume);
  m.options = std::move(options);
  return m;
}

PodOptions options() {
  PodOptions o;
  o.instance = "d41d8cd98f00";
  o.helperImage = "127.0.0.1:5000/berth-helper:1";
  return o;
}

TEST(PodBuilder, MainContainerRunsTheProcessUnderTheHelper) {
  absl::StatusOr<json> pod = buildPod(busybox(), options(), PodRun{});
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ((*pod)["metadata"]["name"], "berth-0123456789ab");
  const json& spec = (*pod)["spec"];
  EXPECT_EQ(spec["restartPolicy"], "Never");
  EXPECT_EQ(spec["automountServiceAccountToken"], false);
  EXPECT_EQ(spec["hostname"], "0123456789ab");
  EXPECT_EQ(spec["terminationGracePeriodSeconds"], 15);
  const json& main = spec["containers"][0];
  EXPECT_EQ(main["name"], "main");
  EXPECT_EQ(main["image"], "127.0.0.1:5000/busybox:latest");
  EXPECT_EQ(main["command"], json({"/.berth/berth-kubehelper", "run", "--", "httpd", "-f", "-p", "8080"}));
  EXPECT_FALSE(main.contains("args"));
  EXPECT_EQ(main["env"], json::parse(R"([{"name":"PATH","value":"/bin"},{"name":"GREETING","value":"a=b"}])"));
  EXPECT_EQ(main["workingDir"], "/srv");
  EXPECT_EQ(main["ports"], json::parse(R"([{"containerPort":8080,"protocol":"TCP"},{"containerPort":53,"protocol":"UDP"}])"));
  EXPECT_EQ(main["volumeMounts"], json::parse(R"([{"name":"berth","mountPath":"/.berth"}])"));
  const json& init = spec["initContainers"][0];
  EXPECT_EQ(init["image"], "127.0.0.1:5000/berth-helper:1");
  EXPECT_EQ(init["command"], json({"/berth-kubehelper", "install", "/.berth"}));
  EXPECT_EQ(spec["volumes"], json::parse(R"([{"name":"berth","emptyDir":{}}])"));
  // The sidecar outlives the process, so its log can be read after it exited.
  const json& sidecar = spec["containers"][1];
  EXPECT_EQ(sidecar["name"], "berth");
  EXPECT_EQ(sidecar["image"], "127.0.0.1:5000/berth-helper:1");
  EXPECT_EQ(sidecar["command"], json({"/berth-kubehelper", "serve"}));
  EXPECT_EQ(sidecar["volumeMounts"], json::parse(R"([{"name":"berth","mountPath":"/.berth"}])"));
}

TEST(PodBuilder, LabelsAndAnnotationsFindTheContainerAgain) {
  absl::StatusOr<json> pod = buildPod(busybox(), options(), PodRun{});
  ASSERT_TRUE(pod.ok());
  const json& meta = (*pod)["metadata"];
  EXPECT_EQ(meta["labels"], json::parse(R"({"app":"web","berth.dev/instance":"d41d8cd98f00","berth.dev/container":"0123456789ab"})"));
  EXPECT_EQ(meta["annotations"]["berth.dev/id"], busybox().id);
  EXPECT_EQ(meta["annotations"]["berth.dev/name"], "web");
  // Docker labels that cannot be Kubernetes labels are kept whole in an annotation.
  EXPECT_EQ(json::parse(meta["annotations"]["berth.dev/labels"].get<std::string>())["com.example/Bad Key"], "x");
}

TEST(PodBuilder, GateTtyStdinAndStopTimeout) {
  ContainerSpec s = busybox();
  s.terminal = true;
  PodRun run;
  run.gate = true;
  run.openStdin = run.stdinOnce = true;
  run.stopTimeoutSeconds = 30;
  absl::StatusOr<json> pod = buildPod(s, options(), run);
  ASSERT_TRUE(pod.ok());
  const json& main = (*pod)["spec"]["containers"][0];
  EXPECT_EQ(main["command"], json({"/.berth/berth-kubehelper", "run", "--gate", "--tty", "--", "httpd", "-f", "-p", "8080"}));
  EXPECT_EQ(main["tty"], true);
  EXPECT_EQ(main["stdin"], true);
  EXPECT_EQ(main["stdinOnce"], true);
  EXPECT_EQ((*pod)["spec"]["terminationGracePeriodSeconds"], 35);
}

TEST(PodBuilder, UsersResourcesAndSchedulingOptions) {
  ContainerSpec s = busybox();
  s.user = "1000:2000";
  s.resources.memory = 64 << 20;
  s.resources.cpuQuota = 150000;
  s.resources.cpuPeriod = 100000;
  PodOptions o = options();
  o.cpu = {"100m", ""};
  o.memory = {"32Mi", "1Gi"};
  o.pullPolicy = "IfNotPresent";
  o.imagePullSecrets = {"regcred"};
  o.serviceAccount = "runner";
  o.nodeSelector = {{"pool", "ci"}};
  o.activeDeadlineSeconds = 3600;
  o.namePrefix = "kd";
  absl::StatusOr<json> pod = buildPod(s, o, PodRun{});
  ASSERT_TRUE(pod.ok()) << pod.status();
  const json& spec = (*pod)["spec"];
  const json& main = spec["containers"][0];
  EXPECT_EQ((*pod)["metadata"]["name"], "kd-0123456789ab");
  EXPECT_EQ(main["securityContext"], json::parse(R"({"runAsUser":1000,"runAsGroup":2000})"));
  // -m and --cpus win over the daemon's default limit; requests stay.
  EXPECT_EQ(main["resources"], json::parse(R"({"requests":{"cpu":"100m","memory":"32Mi"},"limits":{"memory":"67108864","cpu":"1500m"}})"));
  EXPECT_EQ(main["imagePullPolicy"], "IfNotPresent");
  EXPECT_EQ(spec["initContainers"][0]["imagePullPolicy"], "IfNotPresent");
  EXPECT_EQ(spec["containers"][1]["imagePullPolicy"], "IfNotPresent");
  EXPECT_EQ(spec["imagePullSecrets"], json::parse(R"([{"name":"regcred"}])"));
  EXPECT_EQ(spec["serviceAccountName"], "runner");
  EXPECT_EQ(spec["nodeSelector"], json::parse(R"({"pool":"ci"})"));
  EXPECT_EQ(spec["activeDeadlineSeconds"], 3600);

  o.ignoreContainerMemory = true;
  pod = buildPod(s, o, PodRun{});
  EXPECT_EQ((*pod)["spec"]["containers"][0]["resources"]["limits"], json::parse(R"({"memory":"1Gi","cpu":"1500m"})"));
}

TEST(PodBuilder, RefusesWhatAPodCannotBe) {
  ContainerSpec s = busybox();
  s.user = "nobody";
  EXPECT_EQ(buildPod(s, options(), PodRun{}).status().message(),
            "the kube backend runs containers with numeric users only (User \"nobody\"): use --user UID[:GID]");
  s = busybox();
  s.hostname = "Not_A_Label";
  EXPECT_FALSE(buildPod(s, options(), PodRun{})->at("spec").contains("hostname"));
  PodOptions o = options();
  o.helperImage.clear();
  EXPECT_EQ(buildPod(busybox(), o, PodRun{}).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(PodBuilder, RefusesWhatWouldHandOverTheNode) {
  ContainerSpec s = busybox();
  s.privileged = true;
  EXPECT_EQ(buildPod(s, options(), PodRun{}).status().message(), "the kube backend does not run privileged containers");
  s = busybox();
  s.netMode = "host";
  EXPECT_EQ(buildPod(s, options(), PodRun{}).status().message(),
            "the kube backend does not share the node's network namespace (host mode)");
  s = busybox();
  s.pidMode = "host";
  EXPECT_EQ(buildPod(s, options(), PodRun{}).status().message(),
            "the kube backend does not share the node's PID namespace (host mode)");
  // A bind reaches a pod only as what the runtime read under --bind-root.
  s = busybox();
  s.mounts.push_back(mount("bind", "/var/run/secrets", "/s", true));
  EXPECT_EQ(buildPod(s, options(), PodRun{}).status().message(),
            "the bind mount at /s has no source opened for the pod");
}

TEST(PodBuilder, VolumesAndBindsBecomeEmptyDirsAndTheFilesConfigMap) {
  ContainerSpec s = busybox();
  s.mounts.push_back(mount("bind", "/var/lib/berth/volumes/data/_data", "/data", false, "data"));
  s.mounts.push_back(mount("bind", "/var/lib/berth/volumes/3f2a/_data", "/var/lib/x", false, "3f2a"));
  s.mounts.push_back(mount("bind", "/work/site", "/usr/share/site", true));
  s.mounts.push_back(mount("bind", "/work/app.conf", "/data/app.conf", false));
  PodRun run;
  run.binds[2] = {true, 0755};
  run.binds[3] = {false, 0640};
  absl::StatusOr<json> pod = buildPod(s, options(), run);
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ((*pod)["spec"]["volumes"], json::parse(R"([
    {"name":"berth","emptyDir":{}},
    {"name":"vol-0","emptyDir":{}},
    {"name":"vol-1","emptyDir":{}},
    {"name":"bind-2","emptyDir":{}},
    {"name":"files","configMap":{"name":"berth-0123456789ab","items":[{"key":"bind-3","path":"bind-3","mode":416}]}}])"));
  // Parents first: the file lands inside the volume at /data.
  EXPECT_EQ((*pod)["spec"]["containers"][0]["volumeMounts"], json::parse(R"([
    {"name":"berth","mountPath":"/.berth"},
    {"name":"vol-0","mountPath":"/data","readOnly":false},
    {"name":"files","mountPath":"/data/app.conf","subPath":"bind-3","readOnly":true},
    {"name":"vol-1","mountPath":"/var/lib/x","readOnly":false},
    {"name":"bind-2","mountPath":"/usr/share/site","readOnly":true}])"));
  // The sidecar fills the directory bind's emptyDir, read-only or not.
  EXPECT_EQ((*pod)["spec"]["containers"][1]["volumeMounts"], json::parse(R"([
    {"name":"berth","mountPath":"/.berth"},
    {"name":"bind-2","mountPath":"/berth-binds/2"}])"));
  EXPECT_EQ(bindStagingDir(2), "/berth-binds/2");
}

TEST(PodBuilder, AVolumeWithAHandleIsItsClaim) {
  ContainerSpec s = busybox();
  s.mounts.push_back(mount("bind", "", "/data", false, "data"));
  s.mounts.back().volumeHandle = "berth-vol-0a1b2c3d4e5f";
  s.mounts.push_back(mount("bind", "", "/ro", true, "data"));
  s.mounts.back().volumeHandle = "berth-vol-0a1b2c3d4e5f";
  absl::StatusOr<json> pod = buildPod(s, options(), PodRun{});
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ((*pod)["spec"]["volumes"], json::parse(R"([
    {"name":"berth","emptyDir":{}},
    {"name":"vol-0","persistentVolumeClaim":{"claimName":"berth-vol-0a1b2c3d4e5f","readOnly":false}},
    {"name":"vol-1","persistentVolumeClaim":{"claimName":"berth-vol-0a1b2c3d4e5f","readOnly":true}}])"));
  EXPECT_EQ((*pod)["spec"]["containers"][0]["volumeMounts"][2], json::parse(R"({"name":"vol-1","mountPath":"/ro","readOnly":true})"));

  json files = buildBindFiles(s, options(), {{3, std::string("port=1\n\0\xff", 9)}});
  EXPECT_EQ(files, json::parse(R"({"apiVersion":"v1","kind":"ConfigMap",
    "metadata":{"name":"berth-0123456789ab",
                "labels":{"berth.dev/instance":"d41d8cd98f00","berth.dev/container":"0123456789ab"}},
    "binaryData":{"bind-3":"cG9ydD0xCgD/"}})"));
}

TEST(PodBuilder, ADockerSocketIsServedByTheSidecarInAnEmptyDirAtItsDirectory) {
  ContainerSpec s = busybox();
  s.mounts.push_back(mount("bind", "/run/berth/berth.sock", "/var/run/docker.sock", false));
  PodRun run;
  run.binds[0].socket = true;
  absl::StatusOr<json> pod = buildPod(s, options(), run);
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ((*pod)["metadata"]["annotations"]["berth.dev/docker-socket"], "47535");
  EXPECT_EQ((*pod)["spec"]["volumes"][1], json::parse(R"({"name":"docker-socket","emptyDir":{}})"));
  EXPECT_EQ((*pod)["spec"]["containers"][0]["volumeMounts"][1],
            json::parse(R"({"name":"docker-socket","mountPath":"/var/run","readOnly":false})"));
  const json& sidecar = (*pod)["spec"]["containers"][1];
  EXPECT_EQ(sidecar["command"], json::parse(R"(["/berth-kubehelper","serve","--docker-socket","/berth-socket/docker.sock",
                                                 "--tunnel-port","47535"])"));
  EXPECT_EQ(sidecar["volumeMounts"][1], json::parse(R"({"name":"docker-socket","mountPath":"/berth-socket"})"));
  // One per container, never at /.
  s.mounts.push_back(mount("bind", "/run/berth/berth.sock", "/docker.sock", false));
  run.binds[1].socket = true;
  EXPECT_EQ(buildPod(s, options(), run).status().message(),
            "the kube backend serves one Docker socket per container, in a directory of its own (not at /): /docker.sock");
  EXPECT_FALSE(buildPod(busybox(), options(), PodRun{})->at("metadata")["annotations"].contains("berth.dev/docker-socket"));
}

TEST(PodBuilder, TmpfsIsAMemoryEmptyDir) {
  ContainerSpec s = busybox();
  s.mounts.push_back(mount("tmpfs", "", "/scratch", false, "", "size=64m,mode=1777"));
  s.mounts.push_back(mount("tmpfs", "", "/ro", true, "", "mode=1777"));
  auto pod = buildPod(s, options(), PodRun{});
  ASSERT_TRUE(pod.ok()) << pod.status();
  const json& vols = (*pod)["spec"]["volumes"];
  ASSERT_EQ(vols.size(), 3u);
  EXPECT_EQ(vols[1], json::parse(R"({"name":"tmpfs-0","emptyDir":{"medium":"Memory","sizeLimit":"64Mi"}})"));
  EXPECT_EQ(vols[2], json::parse(R"({"name":"tmpfs-1","emptyDir":{"medium":"Memory"}})"));
  const json& mounts = (*pod)["spec"]["containers"][0]["volumeMounts"];
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(mounts[1], json::parse(R"({"name":"tmpfs-0","mountPath":"/scratch","readOnly":false})"));
  EXPECT_EQ(mounts[2]["readOnly"], true);
}

TEST(PodBuilder, HostsLinesBecomeHostAliases) {
  ContainerSpec s = busybox();
  s.extraHosts = {"10.222.0.7\tdb 0123456789ab Cache", "10.222.0.8\tapp", "10.222.0.7\tdb my_db",
                  "fd00::1\tsix"};
  absl::StatusOr<json> pod = buildPod(s, options(), PodRun{});
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ((*pod)["spec"]["hostAliases"], json::parse(R"([
    {"ip":"10.222.0.7","hostnames":["db","0123456789ab","cache"]},
    {"ip":"10.222.0.8","hostnames":["app"]},
    {"ip":"fd00::1","hostnames":["six"]}])"));
  EXPECT_FALSE(buildPod(busybox(), options(), PodRun{})->at("spec").contains("hostAliases"));
  s.extraHosts = {"host-gateway\tx"};
  EXPECT_EQ(buildPod(s, options(), PodRun{}).status().message(), "invalid IP address in extra hosts: \"host-gateway\"");
}

TEST(PodBuilder, ServiceForThePortsSelectsThePod) {
  json svc = buildService(busybox(), options());
  EXPECT_EQ(svc, json::parse(R"({"apiVersion":"v1","kind":"Service",
    "metadata":{"name":"berth-0123456789ab",
                "labels":{"berth.dev/container":"0123456789ab","berth.dev/instance":"d41d8cd98f00"}},
    "spec":{"type":"ClusterIP",
            "selector":{"berth.dev/container":"0123456789ab","berth.dev/instance":"d41d8cd98f00"},
            "ports":[{"name":"tcp-8080","protocol":"TCP","port":8080,"targetPort":8080},
                     {"name":"udp-53","protocol":"UDP","port":53,"targetPort":53}]}})"));
  ContainerSpec none = busybox();
  none.ports.clear();
  EXPECT_TRUE(buildService(none, options()).is_null());
}

TEST(PodBuilder, LabelSyntax) {
  EXPECT_TRUE(validDnsSubdomain("db.example"));
  EXPECT_FALSE(validDnsSubdomain("my_db"));
  EXPECT_FALSE(validDnsSubdomain("a..b"));
  EXPECT_TRUE(validLabelKey("app"));
  EXPECT_TRUE(validLabelKey("berth.dev/instance"));
  EXPECT_FALSE(validLabelKey("Bad.Prefix/x"));
  EXPECT_FALSE(validLabelKey("a/"));
  EXPECT_FALSE(validLabelKey("has space"));
  EXPECT_TRUE(validLabelValue(""));
  EXPECT_TRUE(validLabelValue("v1.2_x-y"));
  EXPECT_FALSE(validLabelValue("-lead"));
  EXPECT_FALSE(validLabelValue(std::string(64, 'a')));
}

}  // namespace
}  // namespace berth::runtime::kube
