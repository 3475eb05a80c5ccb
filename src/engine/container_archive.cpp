// ContainerService: docker cp — stat, archive and extract paths of a
// container, created, running or stopped. Every path is resolved inside the
// container's root fd (util/rooted_fs): a symlink the container planted
// never leads out of it (CVE-2018-15664).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "engine/container_doc.h"
#include "engine/container_service.h"
#include "image/layer/unpack.h"
#include "runtime/user.h"
#include "util/random_id.h"
#include "util/rooted_fs.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/tar_tree.h"
#include "util/tar_writer.h"
#include "util/timestamp.h"

namespace berth::engine {
namespace {

// Go's os.FileMode type bits, as the CLI decodes the stat header.
constexpr uint32_t kGoDir = 1u << 31, kGoSymlink = 1u << 27, kGoDevice = 1u << 26, kGoPipe = 1u << 25,
                   kGoSocket = 1u << 24, kGoSetuid = 1u << 23, kGoSetgid = 1u << 22, kGoCharDevice = 1u << 21,
                   kGoSticky = 1u << 20;

uint32_t goMode(mode_t m) {
  uint32_t out = m & 0777;
  if (S_ISDIR(m)) out |= kGoDir;
  if (S_ISLNK(m)) out |= kGoSymlink;
  if (S_ISFIFO(m)) out |= kGoPipe;
  if (S_ISSOCK(m)) out |= kGoSocket;
  if (S_ISBLK(m)) out |= kGoDevice;
  if (S_ISCHR(m)) out |= kGoDevice | kGoCharDevice;
  if (m & S_ISUID) out |= kGoSetuid;
  if (m & S_ISGID) out |= kGoSetgid;
  if (m & S_ISVTX) out |= kGoSticky;
  return out;
}

// "/a/b/" → ("/a", "b"); "/" → ("/", "/"). The final component is not followed.
std::pair<std::string, std::string> splitFinal(std::string_view path) {
  std::string p(path);
  if (p.empty() || p[0] != '/') p = "/" + p;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.rfind('/');
  std::string dir = slash == 0 ? "/" : p.substr(0, slash);
  std::string base = p.substr(slash + 1);
  if (base.empty()) base = "/";
  return {dir, base};
}

struct Found {
  UniqueFd parent;
  std::string name;  // within parent; "." for the root
  struct stat st {};
};

absl::StatusOr<Found> lookup(int rootFd, std::string_view path, std::string_view container) {
  auto [dir, base] = splitFinal(path);
  Found f;
  auto notFound = [&] { return absl::NotFoundError(strCat("Could not find the file ", path, " in container ", container)); };
  absl::StatusOr<UniqueFd> parent = openInRoot(rootFd, dir, O_PATH | O_DIRECTORY);
  if (!parent.ok()) return notFound();
  f.parent = std::move(*parent);
  f.name = base == "/" ? "." : base;
  if (::fstatat(f.parent.get(), f.name.c_str(), &f.st, AT_SYMLINK_NOFOLLOW) != 0) return notFound();
  if (path.ends_with('/') && !S_ISDIR(f.st.st_mode)) return notFound();
  return f;
}

api::backend::PathStat statOf(const Found& f) {
  api::backend::PathStat s;
  s.name = f.name == "." ? "/" : f.name;
  s.size = f.st.st_size;
  s.mode = goMode(f.st.st_mode);
  s.mtime = formatRfc3339Nano(fromUnixNanos(int64_t(f.st.st_mtim.tv_sec) * 1000000000 + f.st.st_mtim.tv_nsec));
  if (S_ISLNK(f.st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlinkat(f.parent.get(), f.name.c_str(), buf, sizeof buf);
    if (n > 0) s.linkTarget = std::string(buf, size_t(n));
  }
  return s;
}

// writeTarTree with the reason of a failed write.
absl::Status writeTree(int out, int dirFd, const std::string& name, const std::string& tarName, dev_t onlyDev = 0) {
  if (!writeTarTree(out, dirFd, name, tarName, onlyDev)) return absl::InternalError(strCat("writing the archive: ", strerror(errno)));
  return absl::OkStatus();
}

// What the setup helper creates in the writable layer for its own mounts
// (dockerd keeps these in an "init" layer of its own): never a change.
bool isRuntimeMountPoint(const std::string& path) {
  static const std::set<std::string> kPaths = {"/dev", "/proc", "/sys", "/etc/hostname", "/etc/hosts",
                                               "/etc/resolv.conf"};
  return kPaths.contains(path);
}

// docker diff over the writable layer: each entry of `dirFd` (relative
// `prefix`) is added, changed (it exists in a lower layer) or deleted (a
// whiteout). Added directories list their contents too, as dockerd. A
// directory of the image is listed as changed only when something below
// it is. Returns whether anything was recorded.
bool walkChanges(int dirFd, const std::string& prefix, const std::vector<UniqueFd>& lowers,
                 std::vector<api::backend::FsChange>& out) {
  size_t before = out.size();
  UniqueFd self(::openat(dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (const std::string& n : sortedEntries(self.get())) {
    std::string path = prefix + "/" + n;
    struct stat st {};
    if (::fstatat(self.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
      out.push_back({path, 2});
      continue;
    }
    bool inLower = false;
    for (const UniqueFd& l : lowers) {
      if (openInRoot(l.get(), path, O_PATH | O_NOFOLLOW).ok()) {
        inLower = true;
        break;
      }
    }
    if (!inLower && isRuntimeMountPoint(path)) continue;
    size_t at = out.size();
    out.push_back({path, inLower ? 0 : 1});
    if (!S_ISDIR(st.st_mode)) continue;
    UniqueFd sub(::openat(self.get(), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    bool inside = sub.valid() && walkChanges(sub.get(), path, lowers, out);
    if (inLower && !inside) out.erase(out.begin() + long(at));
  }
  return out.size() > before;
}

}  // namespace

absl::Status ContainerService::withRootfs(const Record& r, const std::function<absl::Status(int rootFd)>& fn) {
  std::shared_ptr<Live> l = live(r.row.id);
  std::lock_guard op(l->op);
  BERTH_ASSIGN_OR_RETURN(runtime::ContainerSpec spec, specFor(r));
  return runtime_.withRootfs(r.row.id, spec, fn);
}

namespace {

// Where a container's copies before start are kept, one numbered directory
// each (tree/ and options.json): each start of a pod is a fresh filesystem.
std::string copiesDir(const std::string& containersDir, const std::string& id) {
  return strCat(containersDir, "/", id, "/copies-before-start");
}

api::backend::PathStat statOf(const runtime::PathInfo& p) {
  api::backend::PathStat s;
  s.name = p.name;
  s.size = p.size;
  s.mode = goMode(mode_t(p.mode));
  s.mtime = formatRfc3339Nano(fromUnixNanos(p.mtimeNanos));
  s.linkTarget = p.linkTarget;
  return s;
}

absl::Status couldNotFind(const absl::Status& st, std::string_view path, std::string_view name) {
  if (absl::IsNotFound(st)) return absl::NotFoundError(strCat("Could not find the file ", path, " in container ", name));
  return st;
}

}  // namespace

absl::StatusOr<api::backend::PathStat> ContainerService::statContainerPath(std::string_view name,
                                                                          std::string_view path) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  if (!runtime_.onThisMachine()) {
    absl::StatusOr<runtime::PathInfo> p = runtime_.statPath(r.row.id, std::string(path));
    if (!p.ok()) return couldNotFind(p.status(), path, name);
    return statOf(*p);
  }
  api::backend::PathStat out;
  BERTH_RETURN_IF_ERROR(withRootfs(r, [&](int root) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(Found f, lookup(root, path, name));
    out = statOf(f);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<UniqueFd> ContainerService::scratchFile() {
  std::error_code ec;  // a runtime whose containers are elsewhere may not have made it
  std::filesystem::create_directories(specContext_.containersDir, ec);
  UniqueFd fd(::open(specContext_.containersDir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!fd.valid()) return absl::InternalError(strCat("temporary file: ", strerror(errno)));
  return fd;
}

absl::StatusOr<std::pair<api::backend::PathStat, UniqueFd>> ContainerService::archiveContainerPath(
    std::string_view name, std::string_view path) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  BERTH_ASSIGN_OR_RETURN(UniqueFd out, scratchFile());
  api::backend::PathStat stat;
  if (!runtime_.onThisMachine()) {
    absl::StatusOr<runtime::PathInfo> p = runtime_.statPath(r.row.id, std::string(path));
    if (!p.ok()) return couldNotFind(p.status(), path, name);
    stat = statOf(*p);
    BERTH_RETURN_IF_ERROR(couldNotFind(runtime_.archivePath(r.row.id, std::string(path), out.get()), path, name));
    ::lseek(out.get(), 0, SEEK_SET);
    return std::make_pair(std::move(stat), std::move(out));
  }
  BERTH_RETURN_IF_ERROR(withRootfs(r, [&](int root) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(Found f, lookup(root, path, name));
    stat = statOf(f);
    // "dir/." archives the directory's contents under ".": the CLI's way of
    // asking for them without the directory's own name.
    std::string tarName = path.ends_with("/.") ? "." : (f.name == "." ? "/" : f.name);
    if (tarName == "/") tarName = ".";
    BERTH_RETURN_IF_ERROR(writeTree(out.get(), f.parent.get(), f.name, tarName));
    return writeAll(out.get(), tarEnd());
  }));
  ::lseek(out.get(), 0, SEEK_SET);
  return std::make_pair(std::move(stat), std::move(out));
}

absl::Status ContainerService::extractToContainer(std::string_view name, std::string_view path, int tarFd,
                                                  bool noOverwriteDirNonDir, bool copyUIDGID) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  if (r.doc["HostConfig"].value("ReadonlyRootfs", false)) {
    return absl::PermissionDeniedError("container rootfs is marked read-only");
  }
  if (!runtime_.onThisMachine()) {
    runtime::CopyOptions o;
    o.noOverwriteDirNonDir = noOverwriteDirNonDir;
    if (copyUIDGID) {  // a pod's user is numeric: "uid[:gid]"
      auto [u, g] = splitOnce(r.doc["Config"].value("User", ""), ':');
      uint32_t uid = 0, gid = 0;
      if (parseInt(u, uid) && (g.empty() || parseInt(g, gid))) o.owner = std::make_pair(uid, gid);
      if (u.empty()) o.owner = std::make_pair(0u, 0u);
    }
    // Under the container's lock: a start in between would miss a kept copy.
    std::shared_ptr<Live> l = live(r.row.id);
    std::lock_guard op(l->op);
    BERTH_ASSIGN_OR_RETURN(r, resolve(r.row.id));
    return extractElsewhere(r, name, path, tarFd, o);
  }
  return withRootfs(r, [&](int root) -> absl::Status {
    absl::StatusOr<UniqueFd> dir = openInRoot(root, path, O_RDONLY | O_DIRECTORY);
    if (!dir.ok()) {
      absl::StatusOr<UniqueFd> any = openInRoot(root, path, O_PATH);
      if (any.ok()) return absl::InvalidArgumentError("extraction point is not a directory");
      return absl::NotFoundError(strCat("Could not find the file ", path, " in container ", name));
    }
    layer::UnpackOptions o;
    o.whiteouts = false;
    o.noOverwriteDirNonDir = noOverwriteDirNonDir;
    o.chown = true;  // ids a rootless daemon does not map keep its own
    if (copyUIDGID) {
      // The container's user owns what is copied in.
      absl::StatusOr<runtime::ExecUser> u = runtime::resolveUser(root, r.doc["Config"].value("User", ""), {});
      if (u.ok()) o.owner = std::make_pair(uid_t(u->uid), gid_t(u->gid));
    }
    ::lseek(tarFd, 0, SEEK_SET);
    absl::StatusOr<layer::UnpackResult> res = layer::unpackLayer(layer::fdSource(tarFd, "archive"),
                                                                 oci::Compression::None, dir->get(), o);
    if (!res.ok()) return absl::InvalidArgumentError(strCat("extracting the archive: ", res.status().message()));
    return absl::OkStatus();
  });
}

absl::Status ContainerService::extractElsewhere(const Record& r, std::string_view name, std::string_view path,
                                              int tarFd, const runtime::CopyOptions& options) {
  std::string dir = strCat(specContext_.containersDir, "/", r.row.id);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string staging = strCat(dir, "/copy-", newHexId(8));
  if (::mkdir(staging.c_str(), 0700) != 0) return absl::InternalError(strCat("mkdir ", staging, ": ", strerror(errno)));
  auto cleanup = [&] { std::filesystem::remove_all(staging, ec); };
  std::string tree = staging + "/tree";
  UniqueFd treeFd;
  if (::mkdir(tree.c_str(), 0755) == 0) treeFd = UniqueFd(::open(tree.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!treeFd.valid()) {
    cleanup();
    return absl::InternalError(strCat("staging a copy: ", strerror(errno)));
  }
  layer::UnpackOptions o;
  o.whiteouts = false;
  o.chown = true;
  ::lseek(tarFd, 0, SEEK_SET);
  absl::StatusOr<layer::UnpackResult> res = layer::unpackLayer(layer::fdSource(tarFd, "archive"), oci::Compression::None,
                                                               treeFd.get(), o);
  if (!res.ok()) {
    cleanup();
    return absl::InvalidArgumentError(strCat("extracting the archive: ", res.status().message()));
  }
  std::string status = r.doc["State"].value("Status", "");
  if (status == "running" || status == "paused") {
    absl::Status st = couldNotFind(runtime_.copyIn(r.row.id, std::string(path), treeFd.get(), options), path, name);
    cleanup();
    return st;
  }
  // Not running: kept, and copied in at every start before the process runs.
  std::string kept = copiesDir(specContext_.containersDir, r.row.id);
  std::filesystem::create_directories(kept, ec);
  char seq[16];
  std::snprintf(seq, sizeof seq, "%06zu", copiesBeforeStart(r.row.id).size());
  nlohmann::json meta = {{"path", std::string(path)}, {"noOverwriteDirNonDir", options.noOverwriteDirNonDir}};
  if (options.owner) meta["owner"] = {options.owner->first, options.owner->second};
  // Complete before the rename makes it one of the kept copies.
  UniqueFd file(::open((staging + "/options.json").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  absl::Status written = file.valid() ? writeAll(file.get(), meta.dump()) : absl::InternalError(strerror(errno));
  if (!written.ok() || ::rename(staging.c_str(), strCat(kept, "/", seq).c_str()) != 0) {
    cleanup();
    return written.ok() ? absl::InternalError(strCat("keeping a copy: ", strerror(errno))) : written;
  }
  return absl::OkStatus();
}

std::vector<runtime::PendingCopy> ContainerService::copiesBeforeStart(const std::string& id) const {
  std::vector<runtime::PendingCopy> out;
  std::string kept = copiesDir(specContext_.containersDir, id);
  UniqueFd dir(::open(kept.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return out;
  for (const std::string& n : sortedEntries(dir.get())) {
    nlohmann::json meta = nlohmann::json::parse(readFileOrEmpty(strCat(kept, "/", n, "/options.json")), nullptr, false);
    if (!meta.is_object() || !meta.contains("path")) continue;  // one being written
    runtime::PendingCopy c;
    c.path = meta.value("path", "");
    c.tree = strCat(kept, "/", n, "/tree");
    c.options.noOverwriteDirNonDir = meta.value("noOverwriteDirNonDir", false);
    if (meta.contains("owner")) c.options.owner = std::make_pair(meta["owner"][0].get<uint32_t>(), meta["owner"][1].get<uint32_t>());
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace berth::engine

namespace berth::engine {

absl::StatusOr<std::vector<api::backend::FsChange>> ContainerService::containerChanges(std::string_view name) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> paths, lowerDirsOf(r));
  std::vector<UniqueFd> lowers;
  for (const std::string& p : paths) lowers.emplace_back(::open(p.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::vector<api::backend::FsChange> out;
  UniqueFd upper(::open(runtime_.writableLayer(r.row.id).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (upper.valid()) walkChanges(upper.get(), "", lowers, out);
  return out;
}

absl::StatusOr<UniqueFd> ContainerService::exportContainer(std::string_view name) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  BERTH_ASSIGN_OR_RETURN(UniqueFd out, scratchFile());
  BERTH_RETURN_IF_ERROR(withRootfs(r, [&](int root) -> absl::Status {
    // Only the container's own filesystem: a running container's /proc,
    // /sys, /dev and volumes are other devices and are skipped.
    UniqueFd dir(::openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    struct stat rootSt {};
    if (!dir.valid() || ::fstat(dir.get(), &rootSt) != 0) return absl::InternalError("opening the container's root");
    for (const std::string& n : sortedEntries(dir.get())) {
      BERTH_RETURN_IF_ERROR(writeTree(out.get(), dir.get(), n, n, rootSt.st_dev));
    }
    return writeAll(out.get(), tarEnd());
  }));
  ::lseek(out.get(), 0, SEEK_SET);
  return out;
}

}  // namespace berth::engine
