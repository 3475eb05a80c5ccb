#include "daemon/config.h"

#include <map>

#include <gtest/gtest.h>

namespace berth::daemon {
namespace {

GetEnv fakeEnv(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Config, FileKeysApply) {
  DaemonConfig c;
  auto file = nlohmann::json::parse(R"({"hosts":["unix:///x.sock"],"data-root":"/d","labels":["a=b"],
    "log-level":"debug","tlsverify":true,"tlscacert":"ca","tlscert":"c","tlskey":"k","request-read-timeout":5,
    "shutdown-timeout":3,"insecure-tcp":true,"group":"docker","log-format":"json","backend":"local","debug":false,
    "tls":true})");
  ASSERT_TRUE(applyConfigJson(file, {}, c).ok());
  EXPECT_EQ(c.hosts, (std::vector<std::string>{"unix:///x.sock"}));
  EXPECT_EQ(c.dataRoot, "/d");
  EXPECT_EQ(c.labels, (std::vector<std::string>{"a=b"}));
  EXPECT_EQ(c.logLevel, "debug");
  EXPECT_TRUE(c.tlsVerify);
  EXPECT_EQ(c.requestReadTimeout, 5);
  EXPECT_EQ(c.shutdownTimeout, 3);
  EXPECT_TRUE(c.insecureTcp);
  EXPECT_EQ(c.group, "docker");
}

TEST(Config, FlagsWin) {
  DaemonConfig c;
  c.labels = {"flag=1"};
  c.dataRoot = "/from-flag";
  c.hosts = {"unix:///flag.sock"};
  auto file = nlohmann::json::parse(R"({"labels":["file=1"],"data-root":"/from-file","hosts":["unix:///f.sock"],
    "log-level":"warn"})");
  ASSERT_TRUE(applyConfigJson(file, {"label", "data-root", "host"}, c).ok());
  EXPECT_EQ(c.labels, (std::vector<std::string>{"flag=1"}));
  EXPECT_EQ(c.dataRoot, "/from-flag");
  EXPECT_EQ(c.hosts, (std::vector<std::string>{"unix:///flag.sock"}));
  EXPECT_EQ(c.logLevel, "warn");
}

TEST(Config, UnknownKeyAndWrongType) {
  DaemonConfig c;
  EXPECT_EQ(applyConfigJson(nlohmann::json::parse(R"({"colour":"red"})"), {}, c).message(),
            "config file: unknown key \"colour\"");
  EXPECT_EQ(applyConfigJson(nlohmann::json::parse(R"({"labels":"a=b"})"), {}, c).message(),
            "config file: key \"labels\" has a value of the wrong type");
  // A key the flags override is still type-checked.
  EXPECT_FALSE(applyConfigJson(nlohmann::json::parse(R"({"data-root":5})"), {"data-root"}, c).ok());
  EXPECT_FALSE(applyConfigJson(nlohmann::json::parse(R"([1])"), {}, c).ok());
}

TEST(Config, DefaultsForRootAndUser) {
  DaemonConfig root;
  ASSERT_TRUE(resolveDefaults(root, true, fakeEnv({})).ok());
  EXPECT_EQ(root.hosts, (std::vector<std::string>{"unix:///run/berth/berth.sock"}));
  EXPECT_EQ(root.dataRoot, "/var/lib/berth");
  EXPECT_EQ(defaultConfigFile(true, fakeEnv({})), "/etc/berth/daemon.json");

  DaemonConfig user;
  ASSERT_TRUE(resolveDefaults(user, false, fakeEnv({{"XDG_RUNTIME_DIR", "/run/user/1000"}, {"HOME", "/home/u"}})).ok());
  EXPECT_EQ(user.hosts, (std::vector<std::string>{"unix:///run/user/1000/berth/berth.sock"}));
  EXPECT_EQ(user.dataRoot, "/home/u/.local/share/berth");
  EXPECT_EQ(defaultConfigFile(false, fakeEnv({{"HOME", "/home/u"}})), "/home/u/.config/berth/daemon.json");
  EXPECT_EQ(defaultConfigFile(false, fakeEnv({{"XDG_CONFIG_HOME", "/cfg"}})), "/cfg/berth/daemon.json");

  DaemonConfig xdg;
  ASSERT_TRUE(resolveDefaults(xdg, false, fakeEnv({{"XDG_RUNTIME_DIR", "/r"}, {"XDG_DATA_HOME", "/data"}})).ok());
  EXPECT_EQ(xdg.dataRoot, "/data/berth");

  DaemonConfig noRuntime;
  EXPECT_EQ(resolveDefaults(noRuntime, false, fakeEnv({{"HOME", "/h"}})).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(Config, Validate) {
  DaemonConfig ok;
  ok.dataRoot = "/d";
  EXPECT_TRUE(validate(ok).ok());
  DaemonConfig kube = ok;
  kube.backend = "kube";
  EXPECT_EQ(validate(kube).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(std::string(validate(kube).message()).starts_with("the kube backend needs --helper-image"));
  kube.helperImage = "reg:5000/berth/helper:1";
  EXPECT_TRUE(validate(kube).ok());
  kube.kubeTimeout = "soon";
  EXPECT_EQ(validate(kube).message(), "--timeout: invalid duration \"soon\": want e.g. 90s, 2m or 1m30s");
  DaemonConfig other = ok;
  other.backend = "lxc";
  EXPECT_FALSE(validate(other).ok());
  DaemonConfig label = ok;
  label.labels = {"novalue"};
  EXPECT_FALSE(validate(label).ok());
  DaemonConfig tls = ok;
  tls.tlsVerify = true;
  tls.tlsCert = "c";
  EXPECT_EQ(validate(tls).message(), "--tlsverify needs --tlscacert, --tlscert and --tlskey");
  DaemonConfig rel = ok;
  rel.dataRoot = "data";
  EXPECT_FALSE(validate(rel).ok());
  DaemonConfig level = ok;
  level.logLevel = "chatty";
  EXPECT_FALSE(validate(level).ok());
}

TEST(Config, KubeKeysInTheFile) {
  DaemonConfig c;
  auto file = nlohmann::json::parse(R"({"backend":"kube","kubeconfig":"/k","context":"ci","namespace":"tests",
    "timeout":"2m","helper-image":"reg/h:1","pod-name-prefix":"ci","pull-policy":"always",
    "image-pull-secrets":["a","b"],"node-selector":["disk=ssd"],"service-account":"runner",
    "active-deadline-seconds":600,"runas-user":1000,"ignore-container-memory":true,"request-cpu":"100m,1",
    "request-memory":"128Mi","request-ephemeral-storage":"1Gi,2Gi","pod-labels":["team=qa"],
    "annotations":["note=x y"]})");
  ASSERT_TRUE(applyConfigJson(file, {"namespace"}, c).ok());
  EXPECT_EQ(c.kubeconfig, "/k");
  EXPECT_EQ(c.kubeContext, "ci");
  EXPECT_EQ(c.kubeNamespace, "");  // the flag wins
  EXPECT_EQ(c.kubeTimeout, "2m");
  EXPECT_EQ(c.runasUser, 1000);
  EXPECT_EQ(c.podAnnotations, (std::vector<std::string>{"note=x y"}));
  EXPECT_EQ(applyConfigJson(nlohmann::json::parse(R"({"runas-user":"root"})"), {}, c).message(),
            "config file: key \"runas-user\" has a value of the wrong type");
}

TEST(Config, KubeSettingsInKubernetesTerms) {
  DaemonConfig c;
  c.backend = "kube";
  c.helperImage = "reg/h:1";
  c.kubeTimeout = "1m30s";
  c.pullPolicy = "IfNotPresent";
  c.imagePullSecrets = {"a,b", "c"};
  c.nodeSelector = {"disk=ssd,zone=a"};
  c.requestCpu = "100m,1";
  c.requestMemory = "128Mi";
  c.podLabels = {"team=qa"};
  c.podAnnotations = {"note=x y"};
  c.activeDeadlineSeconds = -1;
  auto k = kubeSettings(c, {"K8S_LABEL_TEAM=env", "K8S_LABEL_TIER=ci", "K8S_ANNOTATION_OWNER=Jane Doe", "PATH=/bin"});
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->runtime.startTimeoutSeconds, 90);
  const runtime::kube::PodOptions& p = k->runtime.pod;
  EXPECT_EQ(p.pullPolicy, "IfNotPresent");
  EXPECT_EQ(p.imagePullSecrets, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(p.nodeSelector, (std::map<std::string, std::string>{{"disk", "ssd"}, {"zone", "a"}}));
  EXPECT_EQ(p.cpu.request, "100m");
  EXPECT_EQ(p.cpu.limit, "1");
  EXPECT_EQ(p.memory.request, "128Mi");
  EXPECT_EQ(p.memory.limit, "");
  // The flags win over kubedock's variables.
  EXPECT_EQ(p.labels, (std::map<std::string, std::string>{{"team", "qa"}, {"tier", "ci"}}));
  EXPECT_EQ(p.annotations, (std::map<std::string, std::string>{{"note", "x y"}, {"owner", "Jane Doe"}}));
  EXPECT_EQ(p.activeDeadlineSeconds, 0);

  DaemonConfig bad = c;
  bad.requestMemory = "lots";
  EXPECT_EQ(kubeSettings(bad, {}).status().message(),
            "--request-memory: \"lots\" is not a Kubernetes quantity (want request[,limit], e.g. 100m,1 or 128Mi)");
  bad = c;
  bad.pullPolicy = "sometimes";
  EXPECT_EQ(kubeSettings(bad, {}).status().message(), "--pull-policy \"sometimes\": want always, ifnotpresent or never");
  bad = c;
  bad.nodeSelector = {"disk"};
  EXPECT_FALSE(kubeSettings(bad, {}).ok());
  bad = c;
  bad.podNamePrefix = "Berth_CI";
  EXPECT_FALSE(kubeSettings(bad, {}).ok());
  EXPECT_EQ(kubeSettings(c, {"K8S_LABEL_BAD=not ok"}).status().message(), "K8S_LABEL_BAD: not a valid Kubernetes label");

  EXPECT_EQ(k->runtime.ports, runtime::kube::PortAccess::kNone);
  DaemonConfig forward = c;
  forward.portForward = true;
  EXPECT_EQ(kubeSettings(forward, {})->runtime.ports, runtime::kube::PortAccess::kPortForward);
  DaemonConfig proxy = c;
  proxy.reverseProxy = true;
  EXPECT_EQ(kubeSettings(proxy, {})->runtime.ports, runtime::kube::PortAccess::kReverseProxy);
  forward.reverseProxy = true;
  EXPECT_EQ(kubeSettings(forward, {}).status().message(), "--port-forward and --reverse-proxy are mutually exclusive");
  DaemonConfig fromFile;
  ASSERT_TRUE(applyConfigJson(nlohmann::json::parse(R"({"port-forward":true,"bind-roots":["/proc/self/.."]})"), {},
                              fromFile).ok());
  EXPECT_TRUE(fromFile.portForward);

  // --bind-root: real paths, each must be a directory.
  EXPECT_TRUE(k->runtime.bindRoots.empty());
  DaemonConfig roots = c;
  roots.bindRoots = {"/proc/self/..", "/"};
  EXPECT_EQ(kubeSettings(roots, {})->runtime.bindRoots, (std::vector<std::string>{"/proc", "/"}));
  roots.bindRoots = {"/nonexistent-berth-root"};
  EXPECT_EQ(kubeSettings(roots, {}).status().message(), "--bind-root /nonexistent-berth-root: No such file or directory");
  EXPECT_EQ(fromFile.bindRoots, std::vector<std::string>{"/proc/self/.."});

  // The reaper: kubedock's default of an hour; 0 turns it off.
  EXPECT_EQ(k->runtime.reapMaxSeconds, 3600);
  EXPECT_FALSE(k->runtime.pruneStart);
  DaemonConfig reap = c;
  reap.reapMax = "0";
  reap.pruneStart = true;
  EXPECT_EQ(kubeSettings(reap, {})->runtime.reapMaxSeconds, 0);
  EXPECT_TRUE(kubeSettings(reap, {})->runtime.pruneStart);
  EXPECT_EQ(k->runtime.lockTimeoutSeconds, 0);  // no --lock
  DaemonConfig listening = c;
  listening.hosts = {"tcp://127.0.0.1:2375", "unix:///run/x/berth.sock", "unix:///run/y.sock"};
  EXPECT_EQ(kubeSettings(listening, {})->runtime.apiSocket, "/run/x/berth.sock");  // where pods' Docker sockets lead
  reap.lock = true;
  EXPECT_EQ(kubeSettings(reap, {})->runtime.lockTimeoutSeconds, 900);
  reap.lockTimeout = "never";
  EXPECT_EQ(kubeSettings(reap, {}).status().message(), "--lock-timeout: invalid duration \"never\": want e.g. 15m or 90s");
  reap.reapMax = "soon";
  EXPECT_EQ(kubeSettings(reap, {}).status().message(), "--reapmax: invalid duration \"soon\": want e.g. 60m, 1h or 0 (never)");
  // Volumes: emptyDirs unless a storage class is named.
  EXPECT_EQ(k->runtime.volumes.storageClass, "");
  EXPECT_EQ(k->runtime.volumes.size, "1Gi");
  DaemonConfig claims = c;
  ASSERT_TRUE(applyConfigJson(nlohmann::json::parse(R"({"storage-class":"fast-ssd","volume-size":"5Gi"})"), {}, claims).ok());
  EXPECT_EQ(kubeSettings(claims, {})->runtime.volumes.storageClass, "fast-ssd");
  EXPECT_EQ(kubeSettings(claims, {})->runtime.volumes.size, "5Gi");
  EXPECT_FALSE(kubeSettings(claims, {})->runtime.disableDind);
  ASSERT_TRUE(applyConfigJson(nlohmann::json::parse(R"({"disable-dind":true})"), {}, claims).ok());
  EXPECT_TRUE(kubeSettings(claims, {})->runtime.disableDind);
  claims.storageClass = "Fast SSD";
  EXPECT_EQ(kubeSettings(claims, {}).status().message(), "--storage-class \"Fast SSD\": not a Kubernetes object name");
  claims.storageClass = "fast";
  claims.volumeSize = "5 GB";
  EXPECT_EQ(kubeSettings(claims, {}).status().message(), "--volume-size \"5 GB\": not a Kubernetes quantity (e.g. 1Gi)");
}

TEST(Config, Durations) {
  EXPECT_EQ(*parseDurationSeconds("90"), 90);
  EXPECT_EQ(*parseDurationSeconds("90s"), 90);
  EXPECT_EQ(*parseDurationSeconds("2m"), 120);
  EXPECT_EQ(*parseDurationSeconds("1h1m1s"), 3661);
  for (const char* bad : {"", "m", "5d", "1.5m", "-3s", "3s4"}) EXPECT_FALSE(parseDurationSeconds(bad).ok()) << bad;
}

}  // namespace
}  // namespace berth::daemon
