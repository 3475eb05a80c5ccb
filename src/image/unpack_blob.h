#pragma once
// A layer blob of the content store unpacked into a committed snapshot:
// the step pull, load and import share.
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "image/layer/unpack.h"
#include "store/content_store.h"
#include "store/snapshot_store.h"

namespace berth::image {

struct UnpackBlobRequest {
  std::string blobDigest;
  std::optional<oci::Compression> compression;  // nullopt: sniffed from the blob's first bytes
  std::string expectedDiffId;                  // empty: not checked
  std::string chainId;                         // empty: the diff id (a base layer)
  std::function<void(int64_t consumed)> onRead;  // blob bytes read so far
};

// Unpacks `source` into a snapshot without committing it: the caller
// commits once it knows the bytes were right (a download still being
// verified). DataLoss when the diff id differs from req.expectedDiffId.
struct PreparedSnapshot {
  std::unique_ptr<store::SnapshotIngest> ingest;
  store::SnapshotInfo info;
};
absl::StatusOr<PreparedSnapshot> unpackToIngest(store::SnapshotStore& snapshots, layer::Source source,
                                                oci::Compression compression, const UnpackBlobRequest& req,
                                                const layer::UnpackOptions& options);
// Commits a prepared snapshot; one that exists already is fine.
absl::Status commitPrepared(store::SnapshotStore& snapshots, PreparedSnapshot& prepared);

// DataLoss when the content's diff id differs from the expected one. An
// existing snapshot of the same chain id is fine (another unpack won).
absl::StatusOr<store::SnapshotInfo> unpackBlob(store::ContentStore& content, store::SnapshotStore& snapshots,
                                               const UnpackBlobRequest& req, const layer::UnpackOptions& options);

}  // namespace berth::image
