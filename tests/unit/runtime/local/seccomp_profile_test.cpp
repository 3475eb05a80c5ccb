#include "runtime/local/seccomp_profile.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "runtime/capabilities.h"

namespace berth::runtime::local {
namespace {

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST(SeccompProfile, DefaultCapabilitiesRefuseEscapes) {
  auto refused = refusedSyscalls(defaultCapabilities());
  for (const char* s : {"mount", "umount2", "unshare", "setns", "pivot_root", "kexec_load", "init_module", "bpf",
                        "keyctl", "add_key"}) {
    EXPECT_TRUE(has(refused, s)) << s;
  }
  EXPECT_FALSE(has(refused, "chroot"));
  EXPECT_FALSE(has(refused, "ptrace"));  // allowed on kernels >= 4.8, as dockerd's profile
}

TEST(SeccompProfile, CapabilitiesUnlockTheirCalls) {
  auto caps = defaultCapabilities();
  caps.push_back("CAP_SYS_ADMIN");
  caps.push_back("CAP_SYS_TIME");
  auto refused = refusedSyscalls(caps);
  EXPECT_FALSE(has(refused, "mount"));
  EXPECT_FALSE(has(refused, "bpf"));  // CAP_SYS_ADMIN covers it too
  EXPECT_FALSE(has(refused, "settimeofday"));
  EXPECT_TRUE(has(refused, "kexec_load"));  // never, whatever the capabilities
  EXPECT_TRUE(has(refused, "reboot"));
}

}  // namespace
}  // namespace berth::runtime::local
