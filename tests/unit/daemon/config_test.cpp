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
  EXPECT_EQ(validate(kube).code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(std::string(validate(kube).message()).find("not available yet"), std::string::npos);
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

}  // namespace
}  // namespace berth::daemon
