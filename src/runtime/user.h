#pragma once
// Users and groups of a container, resolved from the image's own
// /etc/passwd and /etc/group, read through the container's root fd: no NSS
// and no library loading inside a container root (CVE-2019-14271). The
// rules are runc's (what dockerd's containers get):
//
//   ""            root, with root's group and home from passwd when listed
//   "name"        passwd entry by name; its primary group, its home
//   "1000"        that uid; passwd's group and home when the uid is listed
//   "u:g"         either side a name or a number; a group name from /etc/group
//
// Supplementary groups: the groups listing the user by name, then GroupAdd.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::runtime {

struct ExecUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additionalGids;
  std::string home = "/";
};

// InvalidArgument with runc's texts: "unable to find user x: no matching
// entries in passwd file", "unable to find group g: …", and for ids out of
// range "uids and gids must be in range 0-2147483647".
absl::StatusOr<ExecUser> resolveUser(int rootFd, std::string_view user, const std::vector<std::string>& groupAdd);

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0, gid = 0;
  std::string home;
};
struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};
// Parsers of the two files' formats; malformed lines are skipped.
std::vector<PasswdEntry> parsePasswd(std::string_view text);
std::vector<GroupEntry> parseGroup(std::string_view text);

}  // namespace berth::runtime
