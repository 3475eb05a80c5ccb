#include "store/snapshot_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "util/digest.h"
#include "util/random_id.h"
#include "util/rooted_fs.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::store {
namespace {

namespace fs = std::filesystem;

// Empties `dir` (a directory of scratch entries) without following links.
void clearDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    (void)removeAllAt(fd.get(), e.path().filename().string());
  }
}

absl::Status fsyncDir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) return errnoStatus(errno, strCat("fsync ", path));
  return absl::OkStatus();
}

}  // namespace

SnapshotIngest::~SnapshotIngest() {
  if (committed_) return;
  fs_.reset();
  size_t slash = dir_.rfind('/');
  UniqueFd parent(::open(dir_.substr(0, slash).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (parent.valid()) (void)removeAllAt(parent.get(), dir_.substr(slash + 1));
}

absl::StatusOr<std::unique_ptr<SnapshotStore>> SnapshotStore::open(const std::string& root) {
  std::error_code ec;
  for (const char* sub : {"/sha256", "/ingest", "/trash"}) {
    fs::create_directories(root + sub, ec);
    if (ec) return absl::InternalError(strCat("create ", root, sub, ": ", ec.message()));
  }
  clearDir(root + "/ingest");
  clearDir(root + "/trash");
  return std::unique_ptr<SnapshotStore>(new SnapshotStore(root));
}

absl::StatusOr<std::string> SnapshotStore::dirOf(std::string_view chainId) const {
  BERTH_ASSIGN_OR_RETURN(std::string_view hex, sha256Hex(chainId));
  return strCat(root_, "/sha256/", hex);
}

absl::StatusOr<std::unique_ptr<SnapshotIngest>> SnapshotStore::prepare() {
  std::string dir = strCat(root_, "/ingest/", newHexId(12));
  if (::mkdir(dir.c_str(), 0700) != 0) return errnoStatus(errno, strCat("mkdir ", dir));
  std::string fsDir = dir + "/fs";
  if (::mkdir(fsDir.c_str(), 0755) != 0) return errnoStatus(errno, strCat("mkdir ", fsDir));
  UniqueFd fd(::open(fsDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errnoStatus(errno, strCat("open ", fsDir));
  return std::unique_ptr<SnapshotIngest>(new SnapshotIngest(std::move(dir), std::move(fd)));
}

absl::Status SnapshotStore::commit(SnapshotIngest& ingest, const SnapshotInfo& info) {
  BERTH_ASSIGN_OR_RETURN(std::string target, dirOf(info.chainId));
  nlohmann::json j = {{"chainId", info.chainId}, {"diffId", info.diffId}, {"size", info.size}};
  std::string infoPath = ingest.dir_ + "/info.json";
  {
    UniqueFd fd(::open(infoPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) return errnoStatus(errno, strCat("create ", infoPath));
    BERTH_RETURN_IF_ERROR(writeAll(fd.get(), j.dump()));
  }
  // The unpacked files are many; one syncfs makes them all durable before
  // the rename publishes them (a snapshot must never be half there).
  if (::syncfs(ingest.fs_.get()) != 0) return errnoStatus(errno, "syncfs snapshot");
  if (::rename(ingest.dir_.c_str(), target.c_str()) != 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) return absl::AlreadyExistsError(strCat("snapshot ", info.chainId, " exists"));
    return errnoStatus(errno, strCat("rename snapshot to ", target));
  }
  ingest.committed_ = true;
  return fsyncDir(root_ + "/sha256");
}

bool SnapshotStore::exists(std::string_view chainId) const {
  absl::StatusOr<std::string> dir = dirOf(chainId);
  struct stat st {};
  return dir.ok() && ::stat((*dir + "/info.json").c_str(), &st) == 0;
}

absl::StatusOr<SnapshotInfo> SnapshotStore::info(std::string_view chainId) const {
  BERTH_ASSIGN_OR_RETURN(std::string dir, dirOf(chainId));
  UniqueFd fd(::open((dir + "/info.json").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return absl::NotFoundError(strCat("snapshot ", chainId, ": not found"));
    return errnoStatus(errno, strCat("open snapshot ", chainId));
  }
  std::string text(4096, '\0');
  ssize_t n = ::read(fd.get(), text.data(), text.size());
  if (n < 0) return errnoStatus(errno, strCat("read snapshot ", chainId));
  text.resize(size_t(n));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return absl::DataLossError(strCat("snapshot ", chainId, ": corrupt info.json"));
  return SnapshotInfo{std::string(chainId), j.value("diffId", ""), j.value("size", int64_t(0))};
}

absl::StatusOr<std::string> SnapshotStore::fsPath(std::string_view chainId) const {
  BERTH_ASSIGN_OR_RETURN(std::string dir, dirOf(chainId));
  return dir + "/fs";
}

absl::Status SnapshotStore::remove(std::string_view chainId) {
  BERTH_ASSIGN_OR_RETURN(std::string dir, dirOf(chainId));
  std::string trashName = newHexId(12);
  std::string trash = strCat(root_, "/trash/", trashName);
  if (::rename(dir.c_str(), trash.c_str()) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return errnoStatus(errno, strCat("remove snapshot ", chainId));
  }
  UniqueFd parent(::open((root_ + "/trash").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent.valid()) return errnoStatus(errno, "open trash");
  return removeAllAt(parent.get(), trashName);
}

absl::StatusOr<std::vector<std::string>> SnapshotStore::list() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(root_ + "/sha256", ec)) {
    out.push_back("sha256:" + e.path().filename().string());
  }
  if (ec) return absl::InternalError(strCat("list snapshots: ", ec.message()));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace berth::store
