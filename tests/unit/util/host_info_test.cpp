#include "util/host_info.h"
#include "util/unique_fd.h"

#include <sched.h>
#include <sys/wait.h>
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

TEST(HostInfo, DefaultRouteIpv4IsTheAddressOfTheDefaultRoutesInterface) {
  // /proc/net/route's layout; "lo" stands in for the uplink since every machine has 127.0.0.1 on it.
  std::string table =
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "nosuch0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
      "lo\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
  EXPECT_EQ(defaultRouteIpv4(table), "127.0.0.1");
  // A default route through an interface without an address, or none at all.
  EXPECT_EQ(defaultRouteIpv4("Iface\tDestination\nnosuch0\t00000000\t0\t0\t0\t0\t0\t00000000\n"), "");
  EXPECT_EQ(defaultRouteIpv4(table.substr(0, table.find("lo\t"))), "");
}

TEST(HostInfo, InitialUserNamespaceAndAChildOne) {
  bool here = inInitialUserNamespace();
  EXPECT_EQ(here, readFileOrEmpty("/proc/self/uid_map").find(" 0 4294967295") != std::string::npos);
  // A child in a user namespace of its own is not in the initial one.
  pid_t pid = ::fork();
  if (pid == 0) _exit(::unshare(CLONE_NEWUSER) != 0 ? 2 : inInitialUserNamespace() ? 1 : 0);
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st));
  if (WEXITSTATUS(st) == 2) GTEST_SKIP() << "no user namespaces here";
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

}  // namespace
}  // namespace berth
