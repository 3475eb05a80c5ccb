#include "image/layer/unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <vector>

#include "image/layer/archive_api.h"
#include "util/digest.h"
#include "util/rooted_fs.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::layer {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr size_t kReadChunk = 1 << 20;

// Feeds libarchive from the decompressor, hashing every byte (the diff id).
struct Feed {
  Decompressor* decompressor = nullptr;
  Sha256 hash;
  std::vector<char> buf = std::vector<char>(kReadChunk);
  int64_t total = 0;
  int64_t limit = 0;
  absl::Status error;

  absl::StatusOr<size_t> next() {
    absl::StatusOr<size_t> n = decompressor->read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    total += int64_t(*n);
    if (total > limit) return absl::ResourceExhaustedError(strCat("layer is larger than ", limit, " bytes uncompressed"));
    hash.update(std::string_view(buf.data(), *n));
    return n;
  }
};

la_ssize_t readCallback(struct archive*, void* user, const void** out) {
  auto* feed = static_cast<Feed*>(user);
  absl::StatusOr<size_t> n = feed->next();
  if (!n.ok()) {
    feed->error = n.status();
    return -1;
  }
  *out = feed->buf.data();
  return la_ssize_t(*n);
}

struct DirMeta {
  std::string path;
  mode_t mode;
  uid_t uid;
  gid_t gid;
  timespec mtime;
};

class Unpacker {
 public:
  Unpacker(const ArchiveApi* a, int root, const UnpackOptions& o) : a_(a), root_(root), opts_(o) {}

  absl::Status entry(struct archive* ar, struct archive_entry* e, UnpackResult& result) {
    const char* rawName = a_->archive_entry_pathname(e);
    std::string_view raw = rawName ? rawName : "";
    std::optional<std::string> clean = cleanMemberName(raw);
    if (!clean) return absl::InvalidArgumentError(strCat("invalid layer: member \"", raw, "\" escapes the root"));
    if (clean->empty()) return absl::OkStatus();  // the root itself
    auto [parentPath, base] = splitPath(*clean);

    if (opts_.whiteouts && base.starts_with(kWhiteoutPrefix)) return whiteout(parentPath, base, raw, result);

    const char* link = a_->archive_entry_hardlink(e);
    if (link != nullptr && *link != 0) return hardlink(*clean, link);

    mode_t type = a_->archive_entry_filetype(e);
    mode_t perm = a_->archive_entry_perm(e) & 07777;
    uid_t uid = opts_.owner ? opts_.owner->first : uid_t(a_->archive_entry_uid(e));
    gid_t gid = opts_.owner ? opts_.owner->second : gid_t(a_->archive_entry_gid(e));
    timespec mtime{a_->archive_entry_mtime(e), a_->archive_entry_mtime_nsec(e)};

    switch (type) {
      case AE_IFDIR: {
        BERTH_ASSIGN_OR_RETURN(int dir, parent(parentPath));
        BERTH_RETURN_IF_ERROR(replace(dir, base, /*wantDir=*/true));
        if (::mkdirat(dir, base.c_str(), 0700) != 0 && errno != EEXIST) return errnoStatus(errno, strCat("mkdir ", *clean));
        dirs_.push_back({*clean, perm, uid, gid, mtime});
        return absl::OkStatus();
      }
      case AE_IFREG: {
        BERTH_ASSIGN_OR_RETURN(int dir, parent(parentPath));
        BERTH_RETURN_IF_ERROR(replace(dir, base, false));
        UniqueFd fd(::openat(dir, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd.valid()) return errnoStatus(errno, strCat("create ", *clean));
        BERTH_RETURN_IF_ERROR(copyData(ar, fd.get(), *clean, a_->archive_entry_size(e), result));
        ownAndMode(fd.get(), uid, gid, perm);
        applyXattrs(fd.get(), e);
        timespec times[2] = {mtime, mtime};
        ::futimens(fd.get(), times);
        return absl::OkStatus();
      }
      case AE_IFLNK: {
        BERTH_ASSIGN_OR_RETURN(int dir, parent(parentPath));
        BERTH_RETURN_IF_ERROR(replace(dir, base, false));
        const char* target = a_->archive_entry_symlink(e);
        if (::symlinkat(target ? target : "", dir, base.c_str()) != 0) return errnoStatus(errno, strCat("symlink ", *clean));
        if (opts_.chown) ::fchownat(dir, base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
        timespec times[2] = {mtime, mtime};
        ::utimensat(dir, base.c_str(), times, AT_SYMLINK_NOFOLLOW);
        return absl::OkStatus();
      }
      case AE_IFIFO: {
        BERTH_ASSIGN_OR_RETURN(int dir, parent(parentPath));
        BERTH_RETURN_IF_ERROR(replace(dir, base, false));
        if (::mkfifoat(dir, base.c_str(), 0600) != 0) return errnoStatus(errno, strCat("mkfifo ", *clean));
        if (opts_.chown) ::fchownat(dir, base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
        ::fchmodat(dir, base.c_str(), perm, 0);
        return absl::OkStatus();
      }
      case AE_IFCHR:
        // A 0/0 character device is already an overlay whiteout.
        if (opts_.whiteouts && a_->archive_entry_rdevmajor(e) == 0 && a_->archive_entry_rdevminor(e) == 0) {
          BERTH_ASSIGN_OR_RETURN(int dir, parent(parentPath));
          return makeWhiteout(dir, base);
        }
        [[fallthrough]];
      default:
        ++result.skipped;  // devices and sockets: never created from an image
        return absl::OkStatus();
    }
  }

  // Directory metadata last, deepest first, so read-only directories do not
  // block their own children.
  absl::Status finishDirs() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      absl::StatusOr<UniqueFd> fd = openInRoot(root_, it->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (!fd.ok()) continue;  // replaced by a later entry
      ownAndMode(fd->get(), it->uid, it->gid, it->mode);
      timespec times[2] = {it->mtime, it->mtime};
      ::futimens(fd->get(), times);
    }
    return absl::OkStatus();
  }

 private:
  static std::pair<std::string, std::string> splitPath(const std::string& clean) {
    size_t slash = clean.rfind('/');
    if (slash == std::string::npos) return {"", clean};
    return {clean.substr(0, slash), clean.substr(slash + 1)};
  }

  // The directory `path` inside the root, created as needed; one cached fd,
  // dropped whenever an entry removes something or adds a symlink.
  absl::StatusOr<int> parent(const std::string& path) {
    if (cachedValid_ && cachedPath_ == path) return cachedDir_.get();
    BERTH_ASSIGN_OR_RETURN(cachedDir_, mkdirAllInRoot(root_, path, 0755));
    cachedPath_ = path;
    cachedValid_ = true;
    return cachedDir_.get();
  }

  // Makes room for a new entry: a later member replaces an earlier one,
  // except that a directory stays when the new member is a directory too.
  absl::Status replace(int dir, const std::string& name, bool wantDir) {
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return absl::OkStatus();
    if (wantDir && S_ISDIR(st.st_mode)) return absl::OkStatus();
    if (opts_.noOverwriteDirNonDir && S_ISDIR(st.st_mode) != wantDir) {
      return absl::InvalidArgumentError(wantDir ? strCat("cannot overwrite non-directory \"", name, "\" with directory")
                                                : strCat("cannot overwrite directory \"", name, "\" with non-directory"));
    }
    cachedValid_ = false;
    return removeAllAt(dir, name);
  }

  absl::Status makeWhiteout(int dir, const std::string& name) {
    BERTH_RETURN_IF_ERROR(replace(dir, name, false));
    if (::mknodat(dir, name.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0) {
      return errnoStatus(errno, strCat("create whiteout for ", name));
    }
    return absl::OkStatus();
  }

  absl::Status whiteout(const std::string& parentPath, const std::string& base, std::string_view raw,
                        UnpackResult& result) {
    BERTH_ASSIGN_OR_RETURN(int dir, parent(parentPath));
    if (base == kOpaqueMarker) {
      const char* attr = opts_.xattrs == OverlayXattrs::Trusted ? "trusted.overlay.opaque" : "user.overlay.opaque";
      UniqueFd self(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!self.valid() || ::fsetxattr(self.get(), attr, "y", 1, 0) != 0) {
        return errnoStatus(errno, strCat("mark ", parentPath.empty() ? "/" : parentPath, " opaque"));
      }
      return absl::OkStatus();
    }
    if (base.starts_with(strCat(kWhiteoutPrefix, kWhiteoutPrefix))) {
      ++result.skipped;  // aufs metadata (.wh..wh.plnk and the like)
      return absl::OkStatus();
    }
    std::string target = base.substr(kWhiteoutPrefix.size());
    if (target.empty() || target == "." || target == "..") {
      return absl::InvalidArgumentError(strCat("invalid layer: whiteout \"", raw, "\" names no file"));
    }
    return makeWhiteout(dir, target);
  }

  absl::Status hardlink(const std::string& clean, std::string_view link) {
    std::optional<std::string> target = cleanMemberName(link);
    if (!target || target->empty()) {
      return absl::InvalidArgumentError(strCat("invalid layer: hardlink \"", clean, "\" to \"", link, "\" escapes the root"));
    }
    auto [targetParent, targetBase] = splitPath(*target);
    absl::StatusOr<UniqueFd> from = openInRoot(root_, targetParent.empty() ? "." : targetParent, O_RDONLY | O_DIRECTORY);
    struct stat st {};
    if (!from.ok() || ::fstatat(from->get(), targetBase.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return absl::InvalidArgumentError(strCat("invalid layer: hardlink \"", clean, "\" to missing \"", link, "\""));
    }
    if (S_ISDIR(st.st_mode)) return absl::InvalidArgumentError(strCat("invalid layer: hardlink \"", clean, "\" to a directory"));
    auto [parentPath, base] = splitPath(clean);
    BERTH_ASSIGN_OR_RETURN(int dir, parent(parentPath));
    if (*target == clean) return absl::OkStatus();
    BERTH_RETURN_IF_ERROR(replace(dir, base, false));
    if (::linkat(from->get(), targetBase.c_str(), dir, base.c_str(), 0) != 0) {
      return errnoStatus(errno, strCat("link ", clean));
    }
    return absl::OkStatus();
  }

  absl::Status copyData(struct archive* ar, int fd, const std::string& name, int64_t declared, UnpackResult& result) {
    const void* buf = nullptr;
    size_t len = 0;
    la_int64_t offset = 0;
    int64_t end = 0;
    for (;;) {
      int rc = a_->archive_read_data_block(ar, &buf, &len, &offset);
      if (rc == ARCHIVE_EOF) break;
      if (rc < ARCHIVE_WARN) return archiveError(ar, strCat("read ", name));
      result.size += int64_t(len);
      if (result.size > opts_.maxBytes) {
        return absl::ResourceExhaustedError(strCat("layer is larger than ", opts_.maxBytes, " bytes unpacked"));
      }
      const char* p = static_cast<const char*>(buf);
      size_t done = 0;
      while (done < len) {
        ssize_t n = ::pwrite(fd, p + done, len - done, offset + la_int64_t(done));
        if (n < 0) {
          if (errno == EINTR) continue;
          return errnoStatus(errno, strCat("write ", name));
        }
        done += size_t(n);
      }
      end = offset + int64_t(len);
    }
    // Sparse files end in a hole: extend to the declared size.
    if (declared > end && ::ftruncate(fd, declared) != 0) return errnoStatus(errno, strCat("truncate ", name));
    return absl::OkStatus();
  }

  void ownAndMode(int fd, uid_t uid, gid_t gid, mode_t perm) {
    if (opts_.chown) ::fchown(fd, uid, gid);
    ::fchmod(fd, perm);  // after chown, which clears set-id bits
  }

  // Only xattrs a container may legitimately carry; never trusted.* (the
  // overlay's own metadata) nor user.overlay.*.
  void applyXattrs(int fd, struct archive_entry* e) {
    a_->archive_entry_xattr_reset(e);
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    while (a_->archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      std::string_view n = name ? name : "";
      bool allowed = n == "security.capability" || (n.starts_with("user.") && !n.starts_with("user.overlay."));
      if (allowed) ::fsetxattr(fd, name, value, size, 0);
    }
  }

  absl::Status archiveError(struct archive* ar, std::string_view what) {
    const char* msg = a_->archive_error_string(ar);
    return absl::DataLossError(strCat(what, ": ", msg ? msg : "malformed archive"));
  }

  const ArchiveApi* a_;
  int root_;
  const UnpackOptions& opts_;
  std::vector<DirMeta> dirs_;
  UniqueFd cachedDir_;
  std::string cachedPath_;
  bool cachedValid_ = false;
};

}  // namespace

std::optional<std::string> cleanMemberName(std::string_view name) {
  std::vector<std::string_view> parts;
  for (std::string_view c : split(name, '/', /*skipEmpty=*/true)) {
    if (c == ".") continue;
    if (c == "..") {
      if (parts.empty()) return std::nullopt;
      parts.pop_back();
      continue;
    }
    parts.push_back(c);
  }
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out.push_back('/');
    out.append(p);
  }
  return out;
}

absl::StatusOr<UnpackResult> unpackLayer(Source source, oci::Compression compression, int targetDirFd,
                                         const UnpackOptions& options) {
  BERTH_ASSIGN_OR_RETURN(LibraryLease<ArchiveApi> lease, archiveApi());
  const ArchiveApi* a = lease.get();
  std::unique_ptr<Decompressor> decompressor = makeDecompressor(compression, std::move(source));
  Feed feed;
  feed.decompressor = decompressor.get();
  feed.limit = options.maxBytes + (int64_t(64) << 20);  // headers and padding on top of content

  struct archive* ar = a->archive_read_new();
  if (ar == nullptr) return absl::ResourceExhaustedError("archive_read_new failed");
  std::unique_ptr<struct archive, decltype(a->archive_read_free)> guard(ar, a->archive_read_free);
  a->archive_read_support_format_tar(ar);
  a->archive_read_support_filter_none(ar);
  if (a->archive_read_open(ar, &feed, nullptr, readCallback, nullptr) != ARCHIVE_OK) {
    if (!feed.error.ok()) return feed.error;
    const char* msg = a->archive_error_string(ar);
    return absl::DataLossError(strCat("invalid layer: ", msg ? msg : "not a tar archive"));
  }

  UnpackResult result;
  Unpacker unpacker(a, targetDirFd, options);
  for (;;) {
    struct archive_entry* entry = nullptr;
    int rc = a->archive_read_next_header(ar, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      if (!feed.error.ok()) return feed.error;
      const char* msg = a->archive_error_string(ar);
      return absl::DataLossError(strCat("invalid layer: ", msg ? msg : "malformed tar header"));
    }
    if (++result.entries > options.maxEntries) {
      return absl::ResourceExhaustedError(strCat("layer has more than ", options.maxEntries, " entries"));
    }
    absl::Status st = unpacker.entry(ar, entry, result);
    if (!feed.error.ok()) return feed.error;
    if (!st.ok()) return st;
  }
  BERTH_RETURN_IF_ERROR(unpacker.finishDirs());
  // The diff id covers the whole stream, including what follows the tar's
  // end-of-archive blocks.
  for (;;) {
    absl::StatusOr<size_t> n = feed.next();
    if (!n.ok()) return n.status();
    if (*n == 0) break;
  }
  result.diffId = feed.hash.digest();
  return result;
}

}  // namespace berth::layer
