#include "runtime/user.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "util/rooted_fs.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::runtime {
namespace {

constexpr uint32_t kMaxId = 2147483647;
constexpr size_t kMaxFile = 4 << 20;

std::optional<uint32_t> parseId(std::string_view s) {
  if (s.empty() || s.size() > 10 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : s) v = v * 10 + uint64_t(c - '0');
  if (v > UINT32_MAX) return std::nullopt;
  return uint32_t(v);
}

// The file's text, or empty when the image has none.
std::string readInRoot(int rootFd, std::string_view path) {
  absl::StatusOr<UniqueFd> fd = openInRoot(rootFd, path, O_RDONLY);
  if (!fd.ok()) return "";
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, size_t(n));
    if (out.size() > kMaxFile) break;  // not a passwd file anyone wrote by hand
  }
  return out;
}

bool numeric(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }); }

absl::Status rangeError() { return absl::InvalidArgumentError("uids and gids must be in range 0-2147483647"); }

}  // namespace

std::vector<PasswdEntry> parsePasswd(std::string_view text) {
  std::vector<PasswdEntry> out;
  for (std::string_view line : split(text, '\n')) {
    line = trim(line);
    if (line.empty() || line.starts_with('#')) continue;
    std::vector<std::string_view> f = split(line, ':');
    if (f.size() < 4) continue;
    std::optional<uint32_t> uid = parseId(f[2]), gid = parseId(f[3]);
    if (!uid || !gid) continue;
    out.push_back({std::string(f[0]), *uid, *gid, f.size() > 5 ? std::string(f[5]) : ""});
  }
  return out;
}

std::vector<GroupEntry> parseGroup(std::string_view text) {
  std::vector<GroupEntry> out;
  for (std::string_view line : split(text, '\n')) {
    line = trim(line);
    if (line.empty() || line.starts_with('#')) continue;
    std::vector<std::string_view> f = split(line, ':');
    if (f.size() < 3) continue;
    std::optional<uint32_t> gid = parseId(f[2]);
    if (!gid) continue;
    GroupEntry g{std::string(f[0]), *gid, {}};
    if (f.size() > 3) {
      for (std::string_view m : split(f[3], ',', /*skipEmpty=*/true)) g.members.emplace_back(trim(m));
    }
    out.push_back(std::move(g));
  }
  return out;
}

absl::StatusOr<ExecUser> resolveUser(int rootFd, std::string_view user, const std::vector<std::string>& groupAdd) {
  // Plain variables, not structured bindings: lambdas below capture them.
  std::pair<std::string_view, std::string_view> parts = splitOnce(user, ':');
  std::string_view userPart = parts.first, groupPart = parts.second;
  bool hasGroup = groupPart.data() != nullptr;
  std::vector<PasswdEntry> passwd = parsePasswd(readInRoot(rootFd, "/etc/passwd"));
  std::vector<GroupEntry> groups = parseGroup(readInRoot(rootFd, "/etc/group"));

  ExecUser out;
  std::optional<PasswdEntry> entry;
  if (userPart.empty()) {
    auto it = std::find_if(passwd.begin(), passwd.end(), [](const PasswdEntry& p) { return p.uid == 0; });
    if (it != passwd.end()) entry = *it;
  } else if (numeric(userPart)) {
    std::optional<uint32_t> uid = parseId(userPart);
    if (!uid || *uid > kMaxId) return rangeError();
    out.uid = *uid;
    auto it = std::find_if(passwd.begin(), passwd.end(), [&](const PasswdEntry& p) { return p.uid == *uid; });
    if (it != passwd.end()) entry = *it;
  } else {
    auto it = std::find_if(passwd.begin(), passwd.end(), [&](const PasswdEntry& p) { return p.name == userPart; });
    if (it == passwd.end()) {
      return absl::InvalidArgumentError(strCat("unable to find user ", userPart, ": no matching entries in passwd file"));
    }
    entry = *it;
  }
  if (entry) {
    out.uid = entry->uid;
    out.gid = entry->gid;
    if (!entry->home.empty()) out.home = entry->home;
  }

  if (hasGroup) {
    if (numeric(groupPart)) {
      std::optional<uint32_t> gid = parseId(groupPart);
      if (!gid || *gid > kMaxId) return rangeError();
      out.gid = *gid;
    } else {
      auto it = std::find_if(groups.begin(), groups.end(), [&](const GroupEntry& g) { return g.name == groupPart; });
      if (it == groups.end()) {
        return absl::InvalidArgumentError(strCat("unable to find group ", groupPart, ": no matching entries in group file"));
      }
      out.gid = it->gid;
    }
  } else if (entry) {
    // Supplementary groups of a user known by name.
    for (const GroupEntry& g : groups) {
      if (g.gid != out.gid && std::find(g.members.begin(), g.members.end(), entry->name) != g.members.end()) {
        out.additionalGids.push_back(g.gid);
      }
    }
  }
  for (const std::string& add : groupAdd) {
    uint32_t gid = 0;
    if (numeric(add)) {
      std::optional<uint32_t> id = parseId(add);
      if (!id || *id > kMaxId) return rangeError();
      gid = *id;
    } else {
      auto it = std::find_if(groups.begin(), groups.end(), [&](const GroupEntry& g) { return g.name == add; });
      if (it == groups.end()) {
        return absl::InvalidArgumentError(strCat("unable to find group ", add, ": no matching entries in group file"));
      }
      gid = it->gid;
    }
    if (std::find(out.additionalGids.begin(), out.additionalGids.end(), gid) == out.additionalGids.end()) {
      out.additionalGids.push_back(gid);
    }
  }
  return out;
}

}  // namespace berth::runtime
