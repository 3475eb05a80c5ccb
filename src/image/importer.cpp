#include "image/importer.h"

#include <unistd.h>


#include "image/changes.h"
#include "image/unpack_blob.h"
#include "oci/manifest.h"
#include "util/digest.h"
#include "util/random_id.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/timestamp.h"

namespace berth::image {

absl::StatusOr<std::string> importRootfs(store::ContentStore& content, store::SnapshotStore& snapshots,
                                         ImageStore& images, Puller& leases, const layer::UnpackOptions& unpack,
                                         int fd, const ImportRequest& req) {
  nlohmann::json runConfig = nlohmann::json::object();
  for (const std::string& change : req.changes) BERTH_RETURN_IF_ERROR(applyChange(change, runConfig));

  // The tarball, as given, is the layer blob.
  BERTH_ASSIGN_OR_RETURN(store::ContentWriterPtr w, content.writer(strCat("import-", newHexId(12))));
  if (::lseek(fd, 0, SEEK_SET) < 0) return errnoStatus(errno, "rewind import");
  layer::Source read = layer::fdSource(fd, "import");
  std::vector<char> buf(1 << 20);
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(size_t n, read(buf.data(), buf.size()));
    if (n == 0) break;
    BERTH_RETURN_IF_ERROR(w->write(std::string_view(buf.data(), n)));
  }
  std::string blob = w->digest();
  int64_t blobSize = w->offset();
  Puller::LeaseGuard held(leases);
  held.add(Leases{{blob}, {}});
  absl::Status st = w->commit(blobSize, blob);
  if (!st.ok() && st.code() != absl::StatusCode::kAlreadyExists) return st;

  oci::Compression compression = layer::sniffFile(fd);
  UnpackBlobRequest unpackReq{blob, compression, "", "", nullptr};
  absl::StatusOr<store::SnapshotInfo> info = unpackBlob(content, snapshots, unpackReq, unpack);
  if (!info.ok()) return wrap(info.status(), "importing");
  held.add(Leases{{}, {info->chainId}});

  oci::Platform platform = req.platform.value_or(oci::hostPlatform());
  std::string created = formatRfc3339Nano(nowSystem());
  nlohmann::ordered_json config;
  config["architecture"] = platform.architecture;
  config["os"] = platform.os;
  if (!platform.variant.empty()) config["variant"] = platform.variant;
  config["created"] = created;
  if (!req.message.empty()) config["comment"] = req.message;
  config["config"] = runConfig;
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", {info->diffId}}};
  nlohmann::ordered_json history = {{"created", created}};
  history["comment"] = req.message.empty() ? std::string("Imported from -") : req.message;
  config["history"] = nlohmann::ordered_json::array({history});
  std::string configText = config.dump();
  std::string id = sha256Digest(configText);
  held.add(Leases{{id}, {}});
  BERTH_RETURN_IF_ERROR(content.putSmall(id, configText));

  ImageRecord record;
  record.id = id;
  record.config = nlohmann::json::parse(configText);
  record.layers.push_back(
      {blob, std::string(oci::layerMediaType(compression)), blobSize, info->diffId, info->chainId, info->size});
  std::vector<std::string> tags;
  if (!req.tag.empty()) tags.push_back(req.tag);
  BERTH_RETURN_IF_ERROR(images.put(record, tags, {}));
  return id;
}

}  // namespace berth::image
