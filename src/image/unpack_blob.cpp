#include "image/unpack_blob.h"

#include <fcntl.h>
#include <unistd.h>

#include "util/status.h"
#include "util/strings.h"

namespace berth::image {

absl::StatusOr<store::SnapshotInfo> unpackBlob(store::ContentStore& content, store::SnapshotStore& snapshots,
                                               const UnpackBlobRequest& req, const layer::UnpackOptions& options) {
  BERTH_ASSIGN_OR_RETURN(std::string path, content.path(req.blobDigest));
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errnoStatus(errno, strCat("open layer ", req.blobDigest));
  oci::Compression compression = req.compression ? *req.compression : layer::sniffFile(fd.get());
  BERTH_ASSIGN_OR_RETURN(PreparedSnapshot prepared,
                         unpackToIngest(snapshots, layer::fdSource(fd.get(), strCat("layer ", req.blobDigest)),
                                        compression, req, options));
  BERTH_RETURN_IF_ERROR(commitPrepared(snapshots, prepared));
  return prepared.info;
}

absl::StatusOr<PreparedSnapshot> unpackToIngest(store::SnapshotStore& snapshots, layer::Source source,
                                                oci::Compression compression, const UnpackBlobRequest& req,
                                                const layer::UnpackOptions& options) {
  PreparedSnapshot out;
  BERTH_ASSIGN_OR_RETURN(out.ingest, snapshots.prepare());
  int64_t consumed = 0;
  layer::Source counted = [&](char* buf, size_t cap) -> absl::StatusOr<size_t> {
    absl::StatusOr<size_t> n = source(buf, cap);
    if (n.ok()) {
      consumed += int64_t(*n);
      if (req.onRead) req.onRead(consumed);
    }
    return n;
  };
  BERTH_ASSIGN_OR_RETURN(layer::UnpackResult result,
                         layer::unpackLayer(counted, compression, out.ingest->fsFd(), options));
  if (!req.expectedDiffId.empty() && result.diffId != req.expectedDiffId) {
    return absl::DataLossError(strCat("layer content ", result.diffId, " does not match the image config's diff id ",
                                      req.expectedDiffId));
  }
  out.info = store::SnapshotInfo{req.chainId.empty() ? result.diffId : req.chainId, result.diffId, result.size};
  return out;
}

absl::Status commitPrepared(store::SnapshotStore& snapshots, PreparedSnapshot& prepared) {
  absl::Status st = snapshots.commit(*prepared.ingest, prepared.info);
  if (!st.ok() && st.code() != absl::StatusCode::kAlreadyExists) return st;
  return absl::OkStatus();
}

}  // namespace berth::image
