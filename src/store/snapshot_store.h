#pragma once
// Unpacked layers: snapshots/sha256/<chain id hex>/fs, one directory tree per
// layer, ready to be an overlayfs lower dir. A layer is unpacked into a fresh
// ingest directory (snapshots/ingest/<random>), then synced and renamed into
// place: a snapshot is visible only once complete, and never changes after.
// Ingests and half-removed snapshots left by a crash are cleared at open.
//
// Each snapshot records its diff id and unpacked size beside the tree
// (info.json). Thread-safe.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "util/unique_fd.h"

namespace berth::store {

struct SnapshotInfo {
  std::string chainId;
  std::string diffId;
  int64_t size = 0;
};

class SnapshotStore;

// An ingest directory being filled; removed on destruction unless committed.
class SnapshotIngest {
 public:
  ~SnapshotIngest();
  SnapshotIngest(const SnapshotIngest&) = delete;
  SnapshotIngest& operator=(const SnapshotIngest&) = delete;

  // The tree's root ("fs"), open: unpack relative to it.
  int fsFd() const { return fs_.get(); }
  const std::string& path() const { return dir_; }

 private:
  friend class SnapshotStore;
  SnapshotIngest(std::string dir, UniqueFd fs) : dir_(std::move(dir)), fs_(std::move(fs)) {}
  std::string dir_;
  UniqueFd fs_;
  bool committed_ = false;
};

class SnapshotStore {
 public:
  static absl::StatusOr<std::unique_ptr<SnapshotStore>> open(const std::string& root);

  absl::StatusOr<std::unique_ptr<SnapshotIngest>> prepare();
  // Syncs the tree and publishes it under info.chainId. AlreadyExists when
  // another ingest got there first (this one is discarded; the snapshot is fine).
  absl::Status commit(SnapshotIngest& ingest, const SnapshotInfo& info);

  bool exists(std::string_view chainId) const;
  absl::StatusOr<SnapshotInfo> info(std::string_view chainId) const;
  // The tree's path, for overlay mounts.
  absl::StatusOr<std::string> fsPath(std::string_view chainId) const;
  // Moves the snapshot out of sight first, then deletes it.
  absl::Status remove(std::string_view chainId);
  absl::StatusOr<std::vector<std::string>> list() const;

  const std::string& root() const { return root_; }

 private:
  explicit SnapshotStore(std::string root) : root_(std::move(root)) {}
  absl::StatusOr<std::string> dirOf(std::string_view chainId) const;
  const std::string root_;
};

}  // namespace berth::store
