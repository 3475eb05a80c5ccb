#include "runtime/capabilities.h"

#include <algorithm>
#include <cctype>

#include "util/status.h"
#include "util/strings.h"

namespace berth::runtime {
namespace {

// Index = capability number (linux/capability.h).
const std::vector<std::string> kAll = {
    "CAP_CHOWN",          "CAP_DAC_OVERRIDE",  "CAP_DAC_READ_SEARCH", "CAP_FOWNER",         "CAP_FSETID",
    "CAP_KILL",           "CAP_SETGID",        "CAP_SETUID",          "CAP_SETPCAP",        "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",     "CAP_NET_RAW",        "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",      "CAP_SYS_MODULE",    "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",     "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",      "CAP_SYS_ADMIN",     "CAP_SYS_BOOT",        "CAP_SYS_NICE",       "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",          "CAP_LEASE",          "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",  "CAP_SETFCAP",       "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",      "CAP_SYSLOG",
    "CAP_WAKE_ALARM",     "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",      "CAP_PERFMON",        "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"};

const std::vector<std::string> kDefault = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE",     "CAP_FSETID",     "CAP_FOWNER", "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",          "CAP_SETUID",     "CAP_SETFCAP", "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",   "CAP_AUDIT_WRITE"};

std::string canonical(std::string_view name) {
  std::string up;
  for (char c : name) up.push_back(char(std::toupper(static_cast<unsigned char>(c))));
  if (up != "ALL" && !up.starts_with("CAP_")) up = "CAP_" + up;
  return up;
}

}  // namespace

const std::vector<std::string>& defaultCapabilities() { return kDefault; }
const std::vector<std::string>& allCapabilities() { return kAll; }

std::optional<int> capabilityNumber(std::string_view name) {
  std::string c = canonical(name);
  auto it = std::find(kAll.begin(), kAll.end(), c);
  if (it == kAll.end()) return std::nullopt;
  return int(it - kAll.begin());
}

absl::StatusOr<std::vector<std::string>> mergeCapabilities(const std::vector<std::string>& add,
                                                           const std::vector<std::string>& drop, bool privileged) {
  std::vector<std::string> out = privileged ? kAll : kDefault;
  if (privileged) return out;
  auto check = [](const std::string& c) -> absl::Status {
    if (c == "ALL" || capabilityNumber(c)) return absl::OkStatus();
    return absl::InvalidArgumentError(strCat("unknown capability: \"", c, "\""));
  };
  std::vector<std::string> adds, drops;
  for (const auto& a : add) adds.push_back(canonical(a));
  for (const auto& d : drop) drops.push_back(canonical(d));
  for (const auto& a : adds) BERTH_RETURN_IF_ERROR(check(a));
  for (const auto& d : drops) BERTH_RETURN_IF_ERROR(check(d));
  bool addAll = std::find(adds.begin(), adds.end(), "ALL") != adds.end();
  bool dropAll = std::find(drops.begin(), drops.end(), "ALL") != drops.end();
  if (dropAll) out.clear();
  if (addAll) out = kAll;
  for (const auto& a : adds) {
    if (a != "ALL" && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  if (!dropAll) {
    for (const auto& d : drops) {
      // An explicit add wins over a drop of the same capability (dockerd).
      if (std::find(adds.begin(), adds.end(), d) != adds.end()) continue;
      out.erase(std::remove(out.begin(), out.end(), d), out.end());
    }
  }
  return out;
}

}  // namespace berth::runtime
