#include "util/host_info.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(HostInfo, OsRelease) {
  std::string text = "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nPRETTY_NAME='Debian 12'\nID=debian\n";
  EXPECT_EQ(osReleaseValue(text, "PRETTY_NAME"), "Debian 12");
  EXPECT_EQ(osReleaseValue(text, "VERSION_ID"), "12");
  EXPECT_EQ(osReleaseValue(text, "ID"), "debian");
  EXPECT_EQ(osReleaseValue(text, "VERSION"), "");
}

TEST(HostInfo, GoArch) {
  EXPECT_EQ(goArch("x86_64"), "amd64");
  EXPECT_EQ(goArch("aarch64"), "arm64");
  EXPECT_EQ(goArch("s390x"), "s390x");
}

TEST(HostInfo, ReadsTheKernel) {
  HostInfo h = readHostInfo();
  EXPECT_FALSE(h.kernelVersion.empty());
  EXPECT_GE(h.ncpu, 1);
  EXPECT_EQ(h.memTotal, static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE) / 1024 * 1024)
      << "MemTotal should match the kernel's page count";
  EXPECT_TRUE(h.cgroupVersion == "1" || h.cgroupVersion == "2");
}

}  // namespace
}  // namespace berth
