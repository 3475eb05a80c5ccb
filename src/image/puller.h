#pragma once
// Pulls an image from a registry into the content store, the snapshot
// store and the image records, reporting progress as dockerd does; or,
// metadata only, checks the reference and records manifest and config.
//
// Per layer (up to `concurrency` at once, in parallel with each other):
// download into the content store (resuming an ingest a crash left, with
// HTTP ranges; retrying transient failures), verify the blob digest, unpack
// into a snapshot while hashing the tar (the diff id must match the config),
// commit. Layers unpack independently of their parents, so a layer unpacks
// while the next ones download. Two pulls needing the same layer share one
// download and one unpack. The image record and its names are written last,
// in one transaction: an interrupted pull leaves no image.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "image/image_store.h"
#include "image/layer/unpack.h"
#include "image/reference.h"
#include "image/registry/registry_client.h"
#include "oci/platform.h"
#include "store/content_store.h"
#include "store/snapshot_store.h"

namespace berth::image {

// One progress line: dockerd's {"status", "id", "progressDetail"}.
struct Progress {
  std::string id;
  std::string status;
  int64_t current = -1;  // progressDetail when >= 0
  int64_t total = -1;
};
using ProgressFn = std::function<void(const Progress&)>;

struct PullRequest {
  Reference ref;                          // with a tag or a digest
  std::optional<oci::Platform> platform;  // explicit platform, else the host's
  registry::AuthConfig auth;
  const std::atomic<bool>* cancel = nullptr;  // set: stop at the next chunk (daemon shutdown)
  // Fetch the manifest and config only; layers not here already stay in the
  // registry and the record says so (the kube backend: the nodes pull them).
  bool metadataOnly = false;
};

struct PullResult {
  std::string imageId;
  std::string manifestDigest;
  bool downloaded = false;  // false: everything was there already
};

// Objects a pull in flight needs kept: GC must not remove them.
struct Leases {
  std::set<std::string> blobs;
  std::set<std::string> snapshots;
};

class Puller {
 public:
  Puller(store::ContentStore& content, store::SnapshotStore& snapshots, ImageStore& images,
         layer::UnpackOptions unpack, int concurrency)
      : content_(content), snapshots_(snapshots), images_(images), unpack_(unpack), concurrency_(concurrency) {}

  absl::StatusOr<PullResult> pull(registry::RegistryClient& registry, const PullRequest& req,
                                  const ProgressFn& progress);

  // What pulls (and loads) in flight hold; call with gcMutex() held.
  Leases leases();

  // Leases taken by one writer of the stores (a pull, load or import) and
  // dropped when it goes; adding an object twice holds it once.
  class LeaseGuard {
   public:
    explicit LeaseGuard(Puller& puller) : puller_(puller) {}
    ~LeaseGuard();
    LeaseGuard(const LeaseGuard&) = delete;
    LeaseGuard& operator=(const LeaseGuard&) = delete;
    void add(const Leases& l);

   private:
    Puller& puller_;
    Leases held_;
  };
  // Held by GC while it decides and deletes, and by pulls while they add or
  // drop leases, so GC never sees an object between lease and record.
  std::mutex& gcMutex() { return gcMu_; }

 private:
  struct Shared;
  absl::Status ensureLayer(registry::Repository& repo, const oci::Descriptor& blob, const std::string& diffId,
                           const std::string& chainId, const PullRequest& req, const ProgressFn& progress,
                           LayerRecord& out);
  // `onWritten` sees the writer and its offset when it opens (a resumed
  // ingest has bytes already) and after each write.
  absl::Status download(registry::Repository& repo, const oci::Descriptor& blob, const PullRequest& req,
                        const ProgressFn& progress,
                        const std::function<void(store::ContentWriter&, int64_t)>& onWritten);
  // Downloads and unpacks at once: the unpacker follows the ingest file as
  // the download appends to it, and its snapshot is committed only after
  // the blob passed verification.
  absl::Status fetchAndUnpack(registry::Repository& repo, const oci::Descriptor& blob, const std::string& diffId,
                              const std::string& chainId, const PullRequest& req, const ProgressFn& progress);
  absl::Status unpack(const oci::Descriptor& blob, const std::string& diffId, const std::string& chainId,
                      const ProgressFn& progress);

  store::ContentStore& content_;
  store::SnapshotStore& snapshots_;
  ImageStore& images_;
  const layer::UnpackOptions unpack_;
  const int concurrency_;

  std::mutex gcMu_;
  std::multiset<std::string> leasedBlobs_, leasedSnapshots_;  // guarded by gcMu_

  // Layers being fetched, by chain id: later pulls wait for the first.
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Shared>> inflight_;  // guarded by mu_
};

// dockerd's short layer id in progress lines: 12 hex digits.
std::string shortId(std::string_view digest);

}  // namespace berth::image
