#include "runtime/capabilities.h"

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

TEST(Capabilities, NamesAndNumbers) {
  EXPECT_EQ(*capabilityNumber("CAP_CHOWN"), 0);
  EXPECT_EQ(*capabilityNumber("chown"), 0);
  EXPECT_EQ(*capabilityNumber("SYS_ADMIN"), 21);
  EXPECT_EQ(*capabilityNumber("CAP_CHECKPOINT_RESTORE"), 40);
  EXPECT_FALSE(capabilityNumber("CAP_NOPE"));
  EXPECT_EQ(defaultCapabilities().size(), 14u);
}

TEST(Capabilities, MergeAsDockerd) {
  auto m = mergeCapabilities({"NET_ADMIN"}, {"chown", "KILL"}, false);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->size(), 13u);
  EXPECT_NE(std::find(m->begin(), m->end(), "CAP_NET_ADMIN"), m->end());
  EXPECT_EQ(std::find(m->begin(), m->end(), "CAP_KILL"), m->end());
  m = mergeCapabilities({"CHOWN"}, {"ALL"}, false);
  EXPECT_EQ(*m, std::vector<std::string>{"CAP_CHOWN"});
  m = mergeCapabilities({"ALL"}, {"SYS_ADMIN"}, false);
  EXPECT_EQ(m->size(), allCapabilities().size() - 1);
  // An explicit add wins over the same drop.
  m = mergeCapabilities({"KILL"}, {"KILL"}, false);
  EXPECT_NE(std::find(m->begin(), m->end(), "CAP_KILL"), m->end());
  EXPECT_EQ(mergeCapabilities({"WHAT"}, {}, false).status().message(), "unknown capability: \"CAP_WHAT\"");
  EXPECT_EQ(*mergeCapabilities({}, {"ALL"}, true), allCapabilities());
}

}  // namespace
}  // namespace berth::runtime
