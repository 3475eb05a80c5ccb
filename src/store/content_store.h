#pragma once
// Content-addressed blob store: blobs/sha256/<hex> under a root directory.
//
// Lifecycle (containerd's local store): a Writer appends to an ingest file
// under ingest/<sha256 of its ref>/data; commit() fsyncs it, checks size and
// digest, renames it to blobs/sha256/<hex> and fsyncs that directory. A blob
// is therefore never visible before it is whole and verified. An ingest left
// by a crash is resumed by the next writer for the same ref; one ref has at
// most one writer at a time (a second one gets Unavailable).
//
// Thread-safe. Blobs are read-only (0444) once committed.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "util/digest.h"
#include "util/unique_fd.h"

namespace berth::store {

class ContentStore;

class ContentWriter {
 public:
  ~ContentWriter();  // keeps the ingest for a later resume unless committed or aborted
  ContentWriter(const ContentWriter&) = delete;
  ContentWriter& operator=(const ContentWriter&) = delete;

  absl::Status write(std::string_view data);
  // Bytes written so far, including those resumed from an earlier writer.
  int64_t offset() const { return offset_; }
  std::string digest() const { return hash_.digest(); }
  // A read-only fd of the ingest data, valid after commit (same inode):
  // lets a consumer read what is written while the writer goes on.
  absl::StatusOr<UniqueFd> openReader() const;

  // Verifies and publishes the blob. FailedPrecondition when the size or
  // digest differs (the ingest is discarded); AlreadyExists when the blob is
  // there already (the ingest is discarded, the blob is fine). The writer is
  // finished after commit, whatever the result.
  absl::Status commit(std::optional<int64_t> expectedSize, std::string_view expectedDigest);

  // Discards the ingest.
  void abort();

 private:
  friend class ContentStore;
  ContentWriter(ContentStore& store, std::string ref, std::string dir, UniqueFd fd, Sha256 hash, int64_t offset);
  void release();

  ContentStore& store_;
  std::string ref_;
  std::string dir_;  // ingest/<hash of ref>
  UniqueFd fd_;
  Sha256 hash_;
  int64_t offset_;
  bool done_ = false;
};
using ContentWriterPtr = std::unique_ptr<ContentWriter>;

class ContentStore {
 public:
  // Creates the directory layout under `root` if needed, and clears ingests
  // a crash left that cannot be resumed (refs that are not digests, or no
  // write for 24 hours).
  static absl::StatusOr<std::unique_ptr<ContentStore>> open(const std::string& root);

  // A writer for `ref` (any string naming the ingest; pulls use the expected
  // digest). Resumes a leftover ingest of the same ref. Unavailable while
  // another writer holds the ref.
  absl::StatusOr<ContentWriterPtr> writer(std::string_view ref);

  // Writes a small blob known whole in memory (manifest, config), verified
  // against `digest`. Present already is fine; when another writer holds
  // the digest, waits for its commit.
  absl::Status putSmall(std::string_view digest, std::string_view body);

  bool exists(std::string_view digest) const;
  // NotFound when absent; InvalidArgument for a malformed digest.
  absl::StatusOr<int64_t> size(std::string_view digest) const;
  absl::StatusOr<std::string> read(std::string_view digest) const;
  absl::StatusOr<std::string> path(std::string_view digest) const;
  absl::Status remove(std::string_view digest);
  // Every committed blob's digest, sorted.
  absl::StatusOr<std::vector<std::string>> list() const;

  const std::string& root() const { return root_; }

 private:
  friend class ContentWriter;
  explicit ContentStore(std::string root) : root_(std::move(root)) {}
  void unlock(const std::string& ref);

  const std::string root_;
  std::mutex mu_;
  std::set<std::string> activeRefs_;  // guarded by mu_
};

}  // namespace berth::store
