#include "runtime/kube/pod_settings.h"

#include <gtest/gtest.h>

namespace berth::runtime::kube {
namespace {

PodOptions daemonOptions() {
  PodOptions o;
  o.cpu = {"100m", "1"};
  o.memory = {"64Mi", ""};
  o.nodeSelector = {{"disk", "ssd"}};
  o.pullPolicy = "IfNotPresent";
  return o;
}

TEST(PodSettings, KubedocksAndBerthsLabelsOverrideTheFlags) {
  ContainerSpec s;
  s.labels = {{"com.joyrex2001.kubedock.request-cpu", "50m,200m"},
              {"com.joyrex2001.kubedock.request-memory", "1Gi"},
              {"berth.dev/request-memory", "2Gi,4Gi"},  // Berth's key wins over kubedock's
              {"com.joyrex2001.kubedock.node-selector", "zone=a,arch=arm64"},
              {"com.joyrex2001.kubedock.active-deadline-seconds", "600"},
              {"berth.dev/runas-user", "1234"},
              {"com.joyrex2001.kubedock.pull-policy", "never"}};
  absl::StatusOr<PodOptions> o = containerPodOptions(s, daemonOptions());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->cpu.request, "50m");
  EXPECT_EQ(o->cpu.limit, "200m");
  EXPECT_EQ(o->memory.request, "2Gi");
  EXPECT_EQ(o->memory.limit, "4Gi");
  EXPECT_EQ(o->nodeSelector, (std::map<std::string, std::string>{{"zone", "a"}, {"arch", "arm64"}}));
  EXPECT_EQ(o->activeDeadlineSeconds, 600);
  EXPECT_EQ(o->runAsUser, 1234);
  EXPECT_EQ(o->pullPolicy, "IfNotPresent");  // the helper's image keeps the daemon's policy
  EXPECT_EQ(o->containerPullPolicy, "Never");
  // Without labels: the daemon's.
  absl::StatusOr<PodOptions> plain = containerPodOptions(ContainerSpec{}, daemonOptions());
  EXPECT_EQ(plain->cpu.request, "100m");
  EXPECT_EQ(plain->nodeSelector.at("disk"), "ssd");
  EXPECT_EQ(plain->containerPullPolicy, "");
}

TEST(PodSettings, BadLabelValuesAreNamed) {
  auto error = [](const char* key, const char* value) {
    ContainerSpec s;
    s.labels = {{key, value}};
    return std::string(containerPodOptions(s, PodOptions{}).status().message());
  };
  EXPECT_EQ(error("com.joyrex2001.kubedock.request-cpu", "lots"),
            "label com.joyrex2001.kubedock.request-cpu: \"lots\" is not a Kubernetes quantity (want request[,limit], e.g. 100m,1 or 128Mi)");
  EXPECT_EQ(error("berth.dev/node-selector", "zone"),
            "label berth.dev/node-selector: invalid entry \"zone\" (want key=value with a Kubernetes label key)");
  EXPECT_EQ(error("berth.dev/runas-user", "root"), "label berth.dev/runas-user: \"root\" is not a user id");
  EXPECT_EQ(error("com.joyrex2001.kubedock.active-deadline-seconds", "1h"),
            "label com.joyrex2001.kubedock.active-deadline-seconds: \"1h\" is not a number of seconds");
  EXPECT_EQ(error("com.joyrex2001.kubedock.pull-policy", "sometimes"),
            "label com.joyrex2001.kubedock.pull-policy \"sometimes\": want always, ifnotpresent or never");
}

}  // namespace
}  // namespace berth::runtime::kube
