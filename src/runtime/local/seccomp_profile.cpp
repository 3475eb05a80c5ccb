#include "runtime/local/seccomp_profile.h"

#include <sched.h>
#include <seccomp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/strings.h"

namespace berth::runtime::local {
namespace {

struct Rule {
  const char* capability;  // nullptr: refused whatever the container holds
  std::vector<const char*> syscalls;
};

// From dockerd's profile: what it only allows with a capability, and what
// it never allows.
const std::vector<Rule>& rules() {
  static const std::vector<Rule> kRules = {
      {nullptr,
       {"add_key", "keyctl", "request_key", "create_module", "get_kernel_syms", "query_module", "kexec_file_load",
        "kexec_load", "nfsservctl", "swapon", "swapoff", "sysfs", "_sysctl", "uselib", "userfaultfd", "ustat", "vm86",
        "vm86old", "move_pages"}},
      {"CAP_SYS_ADMIN",
       {"fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "mount", "mount_setattr",
        "move_mount", "open_tree", "pivot_root", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns",
        "umount", "umount2", "unshare", "name_to_handle_at"}},
      {"CAP_SYS_BOOT", {"reboot"}},
      {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module"}},
      {"CAP_SYS_PACCT", {"acct"}},
      {"CAP_SYS_PTRACE", {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev"}},
      {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
      {"CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64"}},
      {"CAP_SYS_TTY_CONFIG", {"vhangup"}},
      {"CAP_SYS_NICE", {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
      {"CAP_SYSLOG", {"syslog"}},
      {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}},
      {"CAP_BPF", {"bpf"}},
      {"CAP_PERFMON", {"perf_event_open"}},
  };
  return kRules;
}

bool holds(const std::vector<std::string>& caps, const char* cap) {
  if (cap == nullptr) return false;
  if (std::find(caps.begin(), caps.end(), cap) != caps.end()) return true;
  // dockerd's profile also lets CAP_SYS_ADMIN use bpf and perf_event_open.
  std::string_view c(cap);
  return (c == "CAP_BPF" || c == "CAP_PERFMON") &&
         std::find(caps.begin(), caps.end(), "CAP_SYS_ADMIN") != caps.end();
}

}  // namespace

std::vector<std::string> refusedSyscalls(const std::vector<std::string>& capabilities) {
  std::vector<std::string> out;
  for (const Rule& r : rules()) {
    if (holds(capabilities, r.capability)) continue;
    for (const char* s : r.syscalls) out.push_back(s);
  }
  return out;
}

absl::Status installDefaultSeccomp(const std::vector<std::string>& capabilities) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return absl::InternalError("seccomp_init failed");
  auto fail = [&](const std::string& what, int rc) {
    seccomp_release(ctx);
    return absl::InternalError(strCat("seccomp: ", what, ": ", strerror(-rc)));
  };
  for (const std::string& name : refusedSyscalls(capabilities)) {
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
    if (rc < 0 && rc != -EEXIST) return fail(name, rc);
  }
  if (std::find(capabilities.begin(), capabilities.end(), "CAP_SYS_ADMIN") == capabilities.end()) {
    // New namespaces through clone: refused per flag. clone3 passes its
    // flags in memory seccomp cannot read, so it reports ENOSYS and libc
    // falls back to clone (dockerd's profile does the same).
    for (uint64_t flag : std::initializer_list<uint64_t>{CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                                                         CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP}) {
      int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
      if (rc < 0) return fail("clone", rc);
    }
    int nr = seccomp_syscall_resolve_name("clone3");
    if (nr != __NR_SCMP_ERROR) {
      int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
      if (rc < 0) return fail("clone3", rc);
    }
  }
  int rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc < 0) return absl::InternalError(strCat("loading the seccomp filter: ", strerror(-rc)));
  return absl::OkStatus();
}

}  // namespace berth::runtime::local
