#include "runtime/kube/volume_claims.h"

#include <gtest/gtest.h>

#include "util/digest.h"

namespace berth::runtime::kube {
namespace {

using json = nlohmann::json;

// A daemon's pod settings: its id and --pod-name-prefix ci.
PodOptions pod(std::string instance = "d41d8cd98f00") {
  PodOptions o;
  o.namePrefix = "ci";
  o.instance = std::move(instance);
  return o;
}

TEST(VolumeClaims, WithoutAStorageClassAVolumeIsAnEmptyDir) {
  auto c = claimFor(pod(), "data", {}, ClaimDefaults{});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->has_value());
  EXPECT_EQ(claimFor(pod(), "data", {{"size", "2Gi"}}, ClaimDefaults{}).status().message(),
            "volume option \"size\" needs a storage class (--storage-class or -o storage-class=…): without one a volume "
            "is an emptyDir");
}

TEST(VolumeClaims, DefaultsAndOptions) {
  ClaimDefaults d{"standard", "1Gi"};
  auto c = claimFor(pod(), "data", {}, d);
  ASSERT_TRUE(c.ok() && c->has_value()) << c.status();
  // Named from the daemon and the volume: another Berth's "data" is another claim.
  std::string name = "ci-vol-" + sha256Digest("d41d8cd98f00/data").substr(7, 12);
  EXPECT_EQ((*c)->name, name);
  EXPECT_NE((*claimFor(pod("0123456789ab"), "data", {}, d))->name, name);
  EXPECT_EQ(buildVolumeClaim(pod(), "data", **c), json::parse(R"({
    "apiVersion":"v1","kind":"PersistentVolumeClaim",
    "metadata":{"name":")" + name + R"(","labels":{"berth.dev/instance":"d41d8cd98f00"},
                "annotations":{"berth.dev/volume":"data"}},
    "spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"standard","resources":{"requests":{"storage":"1Gi"}}}})"));
  // A volume's own options win; a class named there needs no daemon default.
  c = claimFor(pod(), "shared", {{"storage-class", "nfs"}, {"size", "500Mi"}, {"access-mode", "ReadWriteMany"}},
               ClaimDefaults{});
  ASSERT_TRUE(c.ok() && c->has_value()) << c.status();
  EXPECT_EQ((*c)->storageClass, "nfs");
  EXPECT_EQ((*c)->size, "500Mi");
  EXPECT_EQ((*c)->accessMode, "ReadWriteMany");
}

TEST(VolumeClaims, BadOptionsNameThemselves) {
  ClaimDefaults d{"standard", "1Gi"};
  EXPECT_EQ(claimFor(pod(), "v", {{"size", "lots"}}, d).status().message(),
            "volume option \"size\": \"lots\" is not a Kubernetes quantity (e.g. 1Gi)");
  EXPECT_EQ(claimFor(pod(), "v", {{"access-mode", "rw"}}, d).status().message(),
            "volume option \"access-mode\": \"rw\" is not one of ReadWriteOnce, ReadOnlyMany, ReadWriteMany, "
            "ReadWriteOncePod");
  EXPECT_EQ(claimFor(pod(), "v", {{"storage-class", "Not/A Name"}}, d).status().message(),
            "volume option \"storage-class\": \"Not/A Name\" is not a Kubernetes object name");
  EXPECT_EQ(claimOptions(), (std::vector<std::string>{"storage-class", "size", "access-mode"}));
}

}  // namespace
}  // namespace berth::runtime::kube
