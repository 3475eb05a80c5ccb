#include "engine/container_spec.h"

#include <signal.h>

#include <gtest/gtest.h>

#include "runtime/capabilities.h"

namespace berth::engine {
namespace {

using ojson = nlohmann::ordered_json;

ojson doc(ojson config = ojson::object(), ojson host = ojson::object()) {
  ojson d;
  d["Id"] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  d["Path"] = "sh";
  d["Args"] = {"-c", "true"};
  ojson c = {{"Hostname", "0123456789ab"}, {"Env", {"A=1"}}, {"Tty", false}};
  for (auto it = config.begin(); it != config.end(); ++it) c[it.key()] = it.value();
  d["Config"] = c;
  ojson h = {{"NetworkMode", "bridge"}, {"ShmSize", 67108864}, {"MaskedPaths", {"/proc/kcore"}},
             {"ReadonlyPaths", {"/proc/sys"}}};
  for (auto it = host.begin(); it != host.end(); ++it) h[it.key()] = it.value();
  d["HostConfig"] = h;
  d["Mounts"] = ojson::array();
  return d;
}

TEST(ParseSignal, NamesNumbersAndErrors) {
  EXPECT_EQ(*parseSignal("SIGTERM"), SIGTERM);
  EXPECT_EQ(*parseSignal("term"), SIGTERM);
  EXPECT_EQ(*parseSignal("9"), SIGKILL);
  EXPECT_EQ(*parseSignal("SIGRTMIN+3"), SIGRTMIN + 3);
  EXPECT_EQ(parseSignal("NOPE").status().message(), "Invalid signal: NOPE");
  EXPECT_FALSE(parseSignal("0").ok());
  EXPECT_FALSE(parseSignal("65").ok());
}

TEST(ParseByteSize, DockerUnits) {
  EXPECT_EQ(parseByteSize("100"), 100);
  EXPECT_EQ(parseByteSize("2k"), 2048);
  EXPECT_EQ(parseByteSize("10m"), 10 << 20);
  EXPECT_EQ(parseByteSize("1g"), int64_t(1) << 30);
  EXPECT_EQ(parseByteSize("1.5k"), 1536);
  EXPECT_EQ(parseByteSize("10MiB"), 10 << 20);
  EXPECT_EQ(parseByteSize("x"), -1);
  EXPECT_EQ(parseByteSize("10q"), -1);
}

TEST(LinkVariables, PortsRangesNameAndEnv) {
  ojson exposed = {{"8001/tcp", {}}, {"53/udp", {}}, {"8000/tcp", {}}, {"8002/tcp", {}}, {"9000", {}}, {"54/udp", {}}};
  std::vector<std::string> vars =
      linkVariables("my-db", "/app/my-db", "172.17.0.2", exposed, ojson{"FOO=bar", "PATH=/bin", "HOME=/root", "BARE"});
  std::vector<std::string> want = {
      "MY_DB_PORT=tcp://172.17.0.2:8000",
      "MY_DB_PORT_8000_TCP=tcp://172.17.0.2:8000", "MY_DB_PORT_8000_TCP_ADDR=172.17.0.2",
      "MY_DB_PORT_8000_TCP_PORT=8000", "MY_DB_PORT_8000_TCP_PROTO=tcp",
      "MY_DB_PORT_8001_TCP=tcp://172.17.0.2:8001", "MY_DB_PORT_8001_TCP_ADDR=172.17.0.2",
      "MY_DB_PORT_8001_TCP_PORT=8001", "MY_DB_PORT_8001_TCP_PROTO=tcp",
      "MY_DB_PORT_8002_TCP=tcp://172.17.0.2:8002", "MY_DB_PORT_8002_TCP_ADDR=172.17.0.2",
      "MY_DB_PORT_8002_TCP_PORT=8002", "MY_DB_PORT_8002_TCP_PROTO=tcp",
      "MY_DB_PORT_9000_TCP=tcp://172.17.0.2:9000", "MY_DB_PORT_9000_TCP_ADDR=172.17.0.2",
      "MY_DB_PORT_9000_TCP_PORT=9000", "MY_DB_PORT_9000_TCP_PROTO=tcp",
      "MY_DB_PORT_53_UDP=udp://172.17.0.2:53", "MY_DB_PORT_53_UDP_ADDR=172.17.0.2",
      "MY_DB_PORT_53_UDP_PORT=53", "MY_DB_PORT_53_UDP_PROTO=udp",
      "MY_DB_PORT_54_UDP=udp://172.17.0.2:54", "MY_DB_PORT_54_UDP_ADDR=172.17.0.2",
      "MY_DB_PORT_54_UDP_PORT=54", "MY_DB_PORT_54_UDP_PROTO=udp",
      "MY_DB_PORT_8000_TCP_START=tcp://172.17.0.2:8000", "MY_DB_PORT_8000_TCP_PORT_START=8000",
      "MY_DB_PORT_8000_TCP_END=tcp://172.17.0.2:8002", "MY_DB_PORT_8000_TCP_PORT_END=8002",
      "MY_DB_PORT_53_UDP_START=udp://172.17.0.2:53", "MY_DB_PORT_53_UDP_PORT_START=53",
      "MY_DB_PORT_53_UDP_END=udp://172.17.0.2:54", "MY_DB_PORT_53_UDP_PORT_END=54",
      "MY_DB_NAME=/app/my-db",
      "MY_DB_ENV_FOO=bar",
  };
  EXPECT_EQ(vars, want);
  // No ports: only the name (and no _PORT at all).
  EXPECT_EQ(linkVariables("db", "/x/db", "10.0.0.2", ojson::object(), ojson()), std::vector<std::string>{"DB_NAME=/x/db"});
}

TEST(BuildContainerSpec, ProcessDefaults) {
  SpecContext ctx;
  ctx.lowerDirs = {"/l2", "/l1"};
  auto s = buildContainerSpec(doc(), ctx);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->args, (std::vector<std::string>{"sh", "-c", "true"}));
  EXPECT_EQ(s->env, (std::vector<std::string>{"HOSTNAME=0123456789ab",
                                              "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=1"}));
  EXPECT_EQ(s->cwd, "/");
  EXPECT_EQ(s->lowerDirs, (std::vector<std::string>{"/l2", "/l1"}));
  EXPECT_EQ(s->capabilities, runtime::defaultCapabilities());
  EXPECT_TRUE(s->seccomp);
  EXPECT_FALSE(s->noNewPrivileges);
  EXPECT_EQ(s->netMode, "private");
  EXPECT_TRUE(s->uidMappings.empty());
  EXPECT_EQ(s->maskedPaths, (std::vector<std::string>{"/proc/kcore"}));
}

TEST(BuildContainerSpec, SecurityResourcesAndMounts) {
  ojson host = {{"CapAdd", {"NET_ADMIN"}},
                {"CapDrop", {"CHOWN"}},
                {"SecurityOpt", {"no-new-privileges", "seccomp=unconfined"}},
                {"NanoCpus", 1500000000},
                {"Memory", 33554432},
                {"PidsLimit", 20},
                {"ReadonlyRootfs", true},
                {"Tmpfs", {{"/run", "rw,size=1m,noexec"}}},
                {"Ulimits", {{{"Name", "nofile"}, {"Soft", 100}, {"Hard", 200}}}},
                {"Init", true}};
  ojson d = doc({{"Tty", true}, {"User", "app"}, {"WorkingDir", "/srv"}}, host);
  d["Mounts"] = {{{"Type", "volume"}, {"Source", "/v/_data"}, {"Destination", "/data"}, {"RW", false}}};
  SpecContext ctx;
  ctx.rootless = true;
  auto s = buildContainerSpec(d, ctx);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NE(std::find(s->capabilities.begin(), s->capabilities.end(), "CAP_NET_ADMIN"), s->capabilities.end());
  EXPECT_EQ(std::find(s->capabilities.begin(), s->capabilities.end(), "CAP_CHOWN"), s->capabilities.end());
  EXPECT_TRUE(s->noNewPrivileges);
  EXPECT_FALSE(s->seccomp);
  EXPECT_EQ(s->resources.cpuPeriod, 100000);
  EXPECT_EQ(s->resources.cpuQuota, 150000);
  EXPECT_EQ(s->resources.memory, 33554432);
  EXPECT_EQ(s->resources.pidsLimit, 20);
  EXPECT_TRUE(s->readonlyRootfs);
  EXPECT_TRUE(s->terminal);
  EXPECT_TRUE(s->init);
  EXPECT_EQ(s->env.back(), "TERM=xterm");
  EXPECT_EQ(s->user, "app");
  EXPECT_EQ(s->cwd, "/srv");
  ASSERT_EQ(s->mounts.size(), 2u);
  EXPECT_EQ(s->mounts[0].type, "bind");
  EXPECT_EQ(s->mounts[0].source, "/v/_data");
  EXPECT_TRUE(s->mounts[0].readOnly);
  EXPECT_EQ(s->mounts[1].type, "tmpfs");
  EXPECT_EQ(s->mounts[1].options, "size=1m,mode=1777");
  ASSERT_EQ(s->rlimits.size(), 1u);
  EXPECT_EQ(s->rlimits[0].hard, 200);
  // Rootless: the container shares the daemon's user namespace, which maps the ids.
  EXPECT_TRUE(s->uidMappings.empty());
  EXPECT_TRUE(s->gidMappings.empty());
}

TEST(BuildContainerSpec, Refusals) {
  EXPECT_EQ(buildContainerSpec(doc({}, {{"CapAdd", {"BOGUS"}}}), {}).status().message(), "unknown capability: \"CAP_BOGUS\"");
  EXPECT_FALSE(buildContainerSpec(doc({}, {{"SecurityOpt", {"seccomp=/p.json"}}}), {}).ok());
  EXPECT_FALSE(buildContainerSpec(doc({}, {{"SecurityOpt", {"bogus"}}}), {}).ok());
  EXPECT_FALSE(buildContainerSpec(doc({{"WorkingDir", "relative"}}), {}).ok());
}

TEST(BuildContainerSpec, PrivilegedGetsEverything) {
  auto s = buildContainerSpec(doc({}, {{"Privileged", true}}), {});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->capabilities, runtime::allCapabilities());
  EXPECT_TRUE(s->privileged);
}

}  // namespace
}  // namespace berth::engine
