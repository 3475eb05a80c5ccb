#pragma once
// docker import: a root filesystem tarball (plain, gzip or zstd) becomes a
// one-layer image. The tarball is kept as the layer blob as given; the
// config gets the host's (or the requested) platform, the `changes`
// (Dockerfile instructions) and the message as its history comment.
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "image/image_store.h"
#include "image/layer/unpack.h"
#include "image/puller.h"
#include "oci/platform.h"
#include "store/content_store.h"
#include "store/snapshot_store.h"

namespace berth::image {

struct ImportRequest {
  std::string tag;  // canonical ref to tag, or empty
  std::string message;
  std::vector<std::string> changes;
  std::optional<oci::Platform> platform;
};

// `fd` is read from its start. Returns the image id.
absl::StatusOr<std::string> importRootfs(store::ContentStore& content, store::SnapshotStore& snapshots,
                                         ImageStore& images, Puller& leases, const layer::UnpackOptions& unpack,
                                         int fd, const ImportRequest& req);

}  // namespace berth::image
