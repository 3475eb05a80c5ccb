#pragma once
// The image area of the engine: pulls, the image list and inspect shapes,
// tags, removal with garbage collection, prune and registry login. Owns the
// content and snapshot stores. Implements api::backend::ImageBackend.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/backend/image_backend.h"
#include "engine/event_bus.h"
#include "image/image_store.h"
#include "image/puller.h"
#include "image/pusher.h"
#include "image/registry/registry_client.h"
#include "store/content_store.h"
#include "store/snapshot_store.h"
#include "store/state_store.h"

namespace berth::engine {

// A container's hold on an image: removal refuses (or, forced, keeps the
// layers) and GC keeps the layers' snapshots.
struct ImageUse {
  std::string containerId;
  std::string imageId;
  bool running = false;
  std::vector<std::string> chainIds;
};
using ImageUsesFn = std::function<absl::StatusOr<std::vector<ImageUse>>()>;

struct ImageServiceOptions {
  std::string dataRoot;
  std::vector<std::string> insecureRegistries;
  std::string userAgent;
  int maxConcurrentDownloads = 3;
  // Unprivileged daemon: overlay user xattrs, no chown while unpacking.
  bool rootless = false;
  int64_t maxLayerBytes = int64_t(64) << 30;
  std::string graphDriver = "overlayfs";
  // The kube backend: pulls record manifest and config only (nodes pull
  // layers), and nothing here needs an image's snapshots.
  bool metadataOnly = false;
};

class ImageService final : public api::backend::ImageBackend {
 public:
  static absl::StatusOr<std::unique_ptr<ImageService>> create(ImageServiceOptions options, store::StateStore& db,
                                                              EventBus& events);
  // Cancels running pulls and waits for their threads.
  ~ImageService() override;
  // Makes running pulls and pushes fail at their next chunk, and new ones
  // fail at once (daemon shutdown).
  void cancelJobs() { stopping_ = true; }

  void startPull(api::backend::ImagePullOptions options, api::backend::ProgressSink progress,
                 api::backend::DoneCallback done) override;
  void startPush(api::backend::ImagePushOptions options, api::backend::ProgressSink progress,
                 api::backend::DoneCallback done) override;
  absl::StatusOr<api::types::DistributionInspect> distributionInspect(std::string_view name,
                                                                      std::string_view registryAuth) override;
  absl::StatusOr<std::vector<api::types::ImageSummary>> listImages(const api::backend::ImageListOptions& options) override;
  absl::StatusOr<api::types::ImageInspect> inspectImage(std::string_view name) override;
  absl::StatusOr<std::vector<api::types::ImageHistoryItem>> imageHistory(std::string_view name) override;
  absl::Status tagImage(std::string_view name, std::string_view repo, std::string_view tag) override;
  absl::StatusOr<std::vector<api::types::ImageDeleteItem>> removeImage(
      std::string_view name, const api::backend::ImageRemoveOptions& options) override;
  absl::StatusOr<api::types::ImagePruneReport> pruneImages(const api::types::Filters& filters) override;
  absl::StatusOr<api::backend::LoginResult> login(std::string_view authConfigJson) override;
  absl::StatusOr<std::unique_ptr<api::backend::UploadSpool>> newSpool() override;
  absl::StatusOr<std::string> importImage(const api::backend::ImageImportOptions& options,
                                          api::backend::UploadSpool* body) override;
  absl::StatusOr<std::vector<std::string>> loadImages(api::backend::UploadSpool& body) override;
  absl::StatusOr<std::vector<api::backend::ArchiveFile>> saveImages(const std::vector<std::string>& names) override;

  // Set once at start (the container service is created after this one).
  void setImageUses(ImageUsesFn uses) { uses_ = std::move(uses); }

  // Held by GC while it decides; a caller that records a new hold on an
  // image's layers (a container) holds it from reading them to recording.
  std::mutex& gcMutex() { return puller_.gcMutex(); }

  // The chain ids of an image's layers, bottom first.
  absl::StatusOr<std::vector<std::string>> chainIdsOf(std::string_view imageId);
  // The unpacked directories of these snapshots, in the same order.
  absl::StatusOr<std::vector<std::string>> snapshotPaths(const std::vector<std::string>& chainIds);
  absl::StatusOr<std::optional<image::ImageEntry>> byId(std::string_view imageId) { return images_.byId(imageId); }

  // Image summaries for GET /system/df, with SharedSize (bytes of layers
  // other images use too) and Containers (how many containers use it).
  absl::StatusOr<std::vector<api::types::ImageSummary>> diskUsage();
  // Removes blobs and snapshots no image needs (and no pull holds).
  // Returns the chain ids removed and the bytes freed.
  struct Collected {
    std::vector<std::string> snapshots;
    int64_t bytes = 0;
  };
  absl::StatusOr<Collected> collectGarbage();

 private:
  ImageService(ImageServiceOptions options, store::StateStore& db, EventBus& events,
               std::unique_ptr<store::ContentStore> content, std::unique_ptr<store::SnapshotStore> snapshots);
  absl::Status pull(const api::backend::ImagePullOptions& options, const api::backend::ProgressSink& progress);
  absl::Status push(const api::backend::ImagePushOptions& options, const api::backend::ProgressSink& progress);
  // Save and push need every layer's blob: refused for a metadata-only record.
  static absl::Status layersHere(const image::ImageEntry& e, std::string_view name);
  // Runs `job` on its own thread (joined by the destructor), then `done`.
  void runJob(std::function<absl::Status()> job, api::backend::DoneCallback done);
  // The registry client, created (and libcurl loaded) on first use.
  absl::StatusOr<registry::RegistryClient*> registryClient();
  api::types::ImageSummary summary(const image::ImageEntry& e) const;
  // Deletes the record and collects garbage; appends dockerd's "Deleted" items.
  absl::Status deleteImage(const image::ImageEntry& e, std::vector<api::types::ImageDeleteItem>& out);
  void publish(std::string action, std::string actor, std::map<std::string, std::string> attributes);

  const ImageServiceOptions options_;
  store::StateStore& db_;
  EventBus& events_;
  std::unique_ptr<store::ContentStore> content_;
  std::unique_ptr<store::SnapshotStore> snapshots_;
  image::ImageStore images_;
  image::Puller puller_;
  image::Pusher pusher_;
  const layer::UnpackOptions unpack_;

  ImageUsesFn uses_;
  std::mutex registryMu_;
  std::unique_ptr<registry::RegistryClient> registry_;  // guarded by registryMu_

  // Names change under one lock so tag/untag/delete decisions are atomic.
  std::mutex namesMu_;

  // Pull threads, joined by the destructor.
  std::atomic<bool> stopping_{false};
  std::mutex threadsMu_;
  std::condition_variable threadsCv_;
  int activeThreads_ = 0;  // guarded by threadsMu_
};

}  // namespace berth::engine
