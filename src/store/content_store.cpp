#include "store/content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <filesystem>
#include <fstream>

#include "util/log.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::store {
namespace {

namespace fs = std::filesystem;

absl::Status fsyncPath(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errnoStatus(errno, strCat("open ", path));
  if (::fsync(fd.get()) != 0) return errnoStatus(errno, strCat("fsync ", path));
  return absl::OkStatus();
}

void removeTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

// Ingests a crash left that nobody will resume: refs that are not digests
// (loads and imports write under one-shot refs), ingests without a ref, and
// downloads untouched for a day.
void clearDeadIngests(const std::string& ingestRoot) {
  std::error_code ec;
  const auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(24);
  for (const fs::directory_entry& e : fs::directory_iterator(ingestRoot, ec)) {
    std::string ref;
    if (std::ifstream f(e.path() / "ref"); f) std::getline(f, ref, '\0');
    std::error_code tec;
    auto touched = fs::last_write_time(e.path() / "data", tec);
    bool resumable = sha256Hex(ref).ok() && !tec && touched > cutoff;
    if (!resumable) removeTree(e.path().string());
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ContentStore>> ContentStore::open(const std::string& root) {
  std::error_code ec;
  for (const char* sub : {"/blobs/sha256", "/ingest"}) {
    fs::create_directories(root + sub, ec);
    if (ec) return absl::InternalError(strCat("create ", root, sub, ": ", ec.message()));
  }
  clearDeadIngests(root + "/ingest");
  return std::unique_ptr<ContentStore>(new ContentStore(root));
}

absl::StatusOr<std::string> ContentStore::path(std::string_view digest) const {
  BERTH_ASSIGN_OR_RETURN(std::string_view hex, sha256Hex(digest));
  return strCat(root_, "/blobs/sha256/", hex);
}

absl::Status ContentStore::putSmall(std::string_view digest, std::string_view body) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    if (exists(digest)) return absl::OkStatus();
    absl::StatusOr<ContentWriterPtr> w = writer(digest);
    if (w.status().code() == absl::StatusCode::kUnavailable) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (!w.ok()) return w.status();
    BERTH_RETURN_IF_ERROR((*w)->write(body));
    absl::Status st = (*w)->commit(static_cast<int64_t>(body.size()), digest);
    return st.code() == absl::StatusCode::kAlreadyExists ? absl::OkStatus() : st;
  }
  return absl::UnavailableError(strCat("content ", digest, " stays locked by another writer"));
}

bool ContentStore::exists(std::string_view digest) const {
  auto p = path(digest);
  struct stat st {};
  return p.ok() && ::stat(p->c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

absl::StatusOr<int64_t> ContentStore::size(std::string_view digest) const {
  BERTH_ASSIGN_OR_RETURN(std::string p, path(digest));
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(strCat("content ", digest, ": not found"));
    return errnoStatus(errno, strCat("stat ", p));
  }
  return static_cast<int64_t>(st.st_size);
}

absl::StatusOr<std::string> ContentStore::read(std::string_view digest) const {
  BERTH_ASSIGN_OR_RETURN(std::string p, path(digest));
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return absl::NotFoundError(strCat("content ", digest, ": not found"));
    return errnoStatus(errno, strCat("open ", p));
  }
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errnoStatus(errno, strCat("read ", p));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

absl::Status ContentStore::remove(std::string_view digest) {
  BERTH_ASSIGN_OR_RETURN(std::string p, path(digest));
  if (::unlink(p.c_str()) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(strCat("content ", digest, ": not found"));
    return errnoStatus(errno, strCat("remove ", p));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ContentStore::list() const {
  std::vector<std::string> out;
  std::string dir = root_ + "/blobs/sha256";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return errnoStatus(errno, strCat("open ", dir));
  while (dirent* e = ::readdir(d)) {
    std::string digest = strCat("sha256:", e->d_name);
    if (sha256Hex(digest).ok()) out.push_back(std::move(digest));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<ContentWriterPtr> ContentStore::writer(std::string_view ref) {
  {
    std::lock_guard lock(mu_);
    if (!activeRefs_.insert(std::string(ref)).second) {
      return absl::UnavailableError(strCat("ref ", ref, " is locked: another writer is active"));
    }
  }
  std::string refKey(ref);
  // Releases the ref lock unless the writer takes it over.
  struct Unlock {
    ContentStore* store;
    std::string ref;
    ~Unlock() {
      if (store) store->unlock(ref);
    }
  } unlock{this, refKey};

  // The ref is hashed so any string makes a fixed-length, safe directory name.
  std::string dir = strCat(root_, "/ingest/", sha256Digest(ref).substr(7));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(strCat("create ", dir, ": ", ec.message()));
  std::string data = dir + "/data";
  UniqueFd fd(::open(data.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd.valid()) return errnoStatus(errno, strCat("open ", data));
  // The ref beside the data, so open() can tell resumable ingests from dead ones.
  if (UniqueFd refFd(::open((dir + "/ref").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)); refFd.valid()) {
    BERTH_RETURN_IF_ERROR(writeAll(refFd.get(), ref));
  }

  // Resume: hash what an earlier writer left behind.
  Sha256 hash;
  int64_t offset = 0;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::pread(fd.get(), buf, sizeof(buf), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errnoStatus(errno, strCat("read ", data));
    if (n == 0) break;
    hash.update(std::string_view(buf, static_cast<size_t>(n)));
    offset += n;
  }
  if (offset > 0) log::debug("resuming ingest", {{"ref", refKey}, {"offset", strCat(offset)}});
  unlock.store = nullptr;
  return ContentWriterPtr(new ContentWriter(*this, refKey, dir, std::move(fd), std::move(hash), offset));
}

void ContentStore::unlock(const std::string& ref) {
  std::lock_guard lock(mu_);
  activeRefs_.erase(ref);
}

ContentWriter::ContentWriter(ContentStore& store, std::string ref, std::string dir, UniqueFd fd, Sha256 hash,
                             int64_t offset)
    : store_(store), ref_(std::move(ref)), dir_(std::move(dir)), fd_(std::move(fd)), hash_(std::move(hash)),
      offset_(offset) {}

ContentWriter::~ContentWriter() { release(); }

void ContentWriter::release() {
  if (done_) return;
  done_ = true;
  fd_.reset();
  store_.unlock(ref_);
}

absl::StatusOr<UniqueFd> ContentWriter::openReader() const {
  std::string data = dir_ + "/data";
  UniqueFd fd(::open(data.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errnoStatus(errno, strCat("open ", data));
  return fd;
}

absl::Status ContentWriter::write(std::string_view data) {
  if (done_) return absl::FailedPreconditionError("writer is closed");
  BERTH_RETURN_IF_ERROR(wrap(writeAll(fd_.get(), data), "ingest"));
  hash_.update(data);
  offset_ += static_cast<int64_t>(data.size());
  return absl::OkStatus();
}

void ContentWriter::abort() {
  if (done_) return;
  fd_.reset();
  removeTree(dir_);
  release();
}

absl::Status ContentWriter::commit(std::optional<int64_t> expectedSize, std::string_view expectedDigest) {
  if (done_) return absl::FailedPreconditionError("writer is closed");
  // Whatever happens below, this writer is finished.
  struct Finish {
    ContentWriter* w;
    ~Finish() { w->release(); }
  } finish{this};

  BERTH_ASSIGN_OR_RETURN(std::string_view hex, sha256Hex(expectedDigest));
  if (::fsync(fd_.get()) != 0) return errnoStatus(errno, "fsync ingest");
  fd_.reset();
  if (expectedSize && *expectedSize != offset_) {
    removeTree(dir_);
    return absl::FailedPreconditionError(
        strCat("unexpected commit size ", offset_, ", expected ", *expectedSize, " (", expectedDigest, ")"));
  }
  std::string actual = hash_.digest();
  if (actual != expectedDigest) {
    removeTree(dir_);
    return absl::FailedPreconditionError(strCat("unexpected commit digest ", actual, ", expected ", expectedDigest));
  }
  std::string target = strCat(store_.root(), "/blobs/sha256/", hex);
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0) {
    removeTree(dir_);
    return absl::AlreadyExistsError(strCat("content ", expectedDigest, ": already exists"));
  }
  std::string data = dir_ + "/data";
  if (::rename(data.c_str(), target.c_str()) != 0) return errnoStatus(errno, strCat("commit ", expectedDigest));
  // The rename is durable only once its directory is synced.
  BERTH_RETURN_IF_ERROR(fsyncPath(store_.root() + "/blobs/sha256"));
  // Past the point of no return: failures below are logged, not returned.
  if (::chmod(target.c_str(), 0444) != 0) {
    log::warn("making blob read-only", {{"digest", std::string(expectedDigest)}});
  }
  removeTree(dir_);
  return absl::OkStatus();
}

}  // namespace berth::store
