#pragma once
// Pushes an image to a registry: each layer blob is checked with HEAD
// (skipped when the registry has it), mounted from another repository of
// the same registry the image came from when possible, else uploaded; then
// the config and the manifest. The manifest is the one the image was pulled
// with when Berth has it, so a pushed image keeps its digest; otherwise a
// Docker schema 2 manifest is generated. Progress as dockerd's.
#include <string>

#include "absl/status/statusor.h"
#include "image/image_store.h"
#include "image/puller.h"
#include "image/reference.h"
#include "image/registry/registry_client.h"
#include "store/content_store.h"

namespace berth::image {

struct PushRequest {
  Reference target;  // with a tag
  registry::AuthConfig auth;
  const std::atomic<bool>* cancel = nullptr;
};

struct PushResult {
  std::string digest;
  int64_t size = 0;
};

class Pusher {
 public:
  Pusher(store::ContentStore& content, ImageStore& images, int concurrency)
      : content_(content), images_(images), concurrency_(concurrency) {}

  // `entry` is the image to push under req.target.
  absl::StatusOr<PushResult> push(registry::RegistryClient& registry, const ImageEntry& entry, const PushRequest& req,
                                  const ProgressFn& progress);

 private:
  absl::Status pushBlob(registry::Repository& repo, const std::string& digest, const std::string& id,
                        const std::vector<std::string>& mountFrom, const PushRequest& req, const ProgressFn& progress);

  store::ContentStore& content_;
  ImageStore& images_;
  const int concurrency_;
};

}  // namespace berth::image
