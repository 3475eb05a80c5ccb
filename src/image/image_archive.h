#pragma once
// docker save and docker load archives.
//
// Save writes both layouts Docker 25+ writes, so docker, podman and
// containerd all load it: an OCI image layout (oci-layout, index.json,
// blobs/sha256/…) whose blobs are the image's own (compressed layers,
// config, the pulled manifest), and a docker-archive manifest.json pointing
// at the same blobs.
//
// Load reads either (and the legacy <id>/layer.tar layout): every file goes
// through the content store (blobs/sha256/<hex> must match its name), each
// layer is unpacked into a snapshot, checked against the config's diff ids,
// and the image recorded with its tags.
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "image/image_store.h"
#include "image/layer/unpack.h"
#include "image/puller.h"
#include "store/content_store.h"
#include "store/snapshot_store.h"

namespace berth::image {

// One file of a save archive: its bytes come from `path` or from `data`.
struct ArchiveFile {
  std::string name;
  int64_t size = 0;
  std::string path;
  std::string data;
};

struct SaveItem {
  ImageEntry image;
  std::vector<std::string> names;  // canonical refs to record (empty: by id)
};

// The files of the archive, in order (directories are implied).
absl::StatusOr<std::vector<ArchiveFile>> planSave(store::ContentStore& content, const std::vector<SaveItem>& items);

// The manifest Berth has for an image (the pulled one) or a generated Docker
// schema 2 manifest: {body, media type}.
absl::StatusOr<std::pair<std::string, std::string>> imageManifest(store::ContentStore& content, const ImageRecord& r);

struct LoadedImage {
  std::string id;
  std::vector<std::string> tags;  // canonical
};

class Loader {
 public:
  Loader(store::ContentStore& content, store::SnapshotStore& snapshots, ImageStore& images, Puller& leases,
         layer::UnpackOptions unpack)
      : content_(content), snapshots_(snapshots), images_(images), leases_(leases), unpack_(unpack) {}

  // Loads the archive in `fd` (tar, possibly gzip or zstd compressed).
  // InvalidArgument for an archive that is not an image archive.
  absl::StatusOr<std::vector<LoadedImage>> load(int fd);

 private:
  store::ContentStore& content_;
  store::SnapshotStore& snapshots_;
  ImageStore& images_;
  Puller& leases_;
  const layer::UnpackOptions unpack_;
};

}  // namespace berth::image
