#include "image/pusher.h"

#include <fcntl.h>
#include <unistd.h>

#include <semaphore>
#include <thread>

#include <nlohmann/json.hpp>

#include "image/image_archive.h"
#include "oci/manifest.h"
#include "util/digest.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::image {

absl::Status Pusher::pushBlob(registry::Repository& repo, const std::string& digest, const std::string& id,
                              const std::vector<std::string>& mountFrom, const PushRequest& req,
                              const ProgressFn& progress) {
  BERTH_ASSIGN_OR_RETURN(bool present, repo.blobExists(digest));
  if (present) {
    progress({id, "Layer already exists"});
    return absl::OkStatus();
  }
  for (const std::string& from : mountFrom) {
    absl::StatusOr<bool> mounted = repo.mountBlob(digest, from);
    if (mounted.ok() && *mounted) {
      progress({id, strCat("Mounted from ", from)});
      return absl::OkStatus();
    }
  }
  BERTH_ASSIGN_OR_RETURN(std::string path, content_.path(digest));
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errnoStatus(errno, strCat("open blob ", digest));
  BERTH_ASSIGN_OR_RETURN(int64_t size, content_.size(digest));
  progress({id, "Pushing", 0, size});
  BERTH_RETURN_IF_ERROR(repo.uploadBlob(digest, fd.get(), size, req.cancel));
  progress({id, "Pushed"});
  return absl::OkStatus();
}

absl::StatusOr<PushResult> Pusher::push(registry::RegistryClient& registry, const ImageEntry& entry,
                                        const PushRequest& req, const ProgressFn& progress) {
  const ImageRecord& r = entry.record;
  const Reference& target = req.target;
  for (const LayerRecord& l : r.layers) {
    if (l.digest.empty() || !content_.exists(l.digest)) {
      return absl::FailedPreconditionError(strCat("layer ", l.diffId, " of ", target.familiar(),
                                                  " has no stored blob to push"));
    }
  }
  std::unique_ptr<registry::Repository> repo = registry.repository(target.domain, target.path, req.auth, true);
  progress({"", strCat("The push refers to repository [", target.name(), "]")});

  // Repositories of the same registry this image is known in: mount sources.
  std::vector<std::string> mountFrom;
  for (const std::string& ref : entry.digests) {
    absl::StatusOr<Reference> known = parseNormalized(ref);
    if (known.ok() && known->domain == target.domain && known->path != target.path) mountFrom.push_back(known->path);
  }

  for (const LayerRecord& l : r.layers) progress({shortId(l.digest), "Preparing"});
  std::vector<absl::Status> results(r.layers.size());
  std::counting_semaphore<64> slots(std::min(concurrency_, 64));
  std::vector<std::thread> workers;
  for (size_t i = 0; i < r.layers.size(); ++i) {
    slots.acquire();
    workers.emplace_back([&, i] {
      const LayerRecord& l = r.layers[i];
      results[i] = pushBlob(*repo, l.digest, shortId(l.digest), mountFrom, req, progress);
      slots.release();
    });
  }
  for (std::thread& t : workers) t.join();
  for (const absl::Status& st : results) BERTH_RETURN_IF_ERROR(st);
  BERTH_RETURN_IF_ERROR(pushBlob(*repo, r.id, shortId(r.id), mountFrom, req, [](const Progress&) {}));

  BERTH_ASSIGN_OR_RETURN(auto manifest, imageManifest(content_, r));
  const auto& [body, mediaType] = manifest;
  BERTH_RETURN_IF_ERROR(repo->putManifest(target.tag, mediaType, body));
  std::string digest = sha256Digest(body);
  // The image now has a repo digest in the target repository (recorded
  // first: that ref is what keeps the manifest blob from GC).
  ImageRecord updated = r;
  if (updated.manifestDigest.empty()) {
    updated.manifestDigest = digest;
    updated.manifestMediaType = mediaType;
  }
  BERTH_RETURN_IF_ERROR(images_.put(updated, {}, {strCat(target.name(), "@", digest)}));
  BERTH_RETURN_IF_ERROR(content_.putSmall(digest, body));
  progress({"", strCat(target.tag, ": digest: ", digest, " size: ", body.size())});
  return PushResult{digest, int64_t(body.size())};
}

}  // namespace berth::image
