#include "image/puller.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <semaphore>
#include <thread>

#include "image/unpack_blob.h"
#include "oci/manifest.h"
#include "util/digest.h"
#include "util/log.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::image {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kProgressInterval = std::chrono::milliseconds(100);
constexpr int kAttempts = 5;
constexpr size_t kMaxConfigSize = 8 << 20;

// Emits "Downloading"/"Extracting" at most every kProgressInterval.
class Throttle {
 public:
  bool due() {
    Clock::time_point now = Clock::now();
    if (now - last_ < kProgressInterval) return false;
    last_ = now;
    return true;
  }

 private:
  Clock::time_point last_{};
};

// dockerd's wording for a registry refusal of the whole reference.
absl::Status pullError(const absl::Status& st, const Reference& ref) {
  std::string msg(st.message());
  std::string what = ref.familiar();
  switch (st.code()) {
    case absl::StatusCode::kNotFound:
      if (msg.find("name unknown") != std::string::npos) {
        return absl::NotFoundError(strCat("repository ", ref.familiarName(), " not found: ", msg));
      }
      return absl::NotFoundError(strCat("manifest for ", what, " not found: ", msg));
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      // NotFound as dockerd: a 401 would make the CLI prompt for a login.
      return absl::NotFoundError(strCat("pull access denied for ", ref.familiarName(),
                                        ", repository does not exist or may require 'docker login': ", msg));
    default: return st;
  }
}

}  // namespace

std::string shortId(std::string_view digest) {
  std::string_view hex = digest;
  consumePrefix(hex, "sha256:");
  return std::string(hex.substr(0, 12));
}

struct Puller::Shared {
  bool done = false;
  absl::Status status;
  LayerRecord record;
};

Leases Puller::leases() {
  Leases l;
  l.blobs.insert(leasedBlobs_.begin(), leasedBlobs_.end());
  l.snapshots.insert(leasedSnapshots_.begin(), leasedSnapshots_.end());
  return l;
}

void Puller::LeaseGuard::add(const Leases& l) {
  std::lock_guard lock(puller_.gcMu_);
  for (const std::string& b : l.blobs) {
    if (held_.blobs.insert(b).second) puller_.leasedBlobs_.insert(b);
  }
  for (const std::string& s : l.snapshots) {
    if (held_.snapshots.insert(s).second) puller_.leasedSnapshots_.insert(s);
  }
}

Puller::LeaseGuard::~LeaseGuard() {
  std::lock_guard lock(puller_.gcMu_);
  for (const std::string& b : held_.blobs) puller_.leasedBlobs_.erase(puller_.leasedBlobs_.find(b));
  for (const std::string& s : held_.snapshots) puller_.leasedSnapshots_.erase(puller_.leasedSnapshots_.find(s));
}

absl::Status Puller::download(registry::Repository& repo, const oci::Descriptor& blob, const PullRequest& req,
                              const ProgressFn& progress,
                              const std::function<void(store::ContentWriter&, int64_t)>& onWritten) {
  const std::string id = shortId(blob.digest);
  if (content_.exists(blob.digest)) {
    progress({id, "Download complete"});
    return absl::OkStatus();
  }
  absl::Status last;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    if (attempt > 1) std::this_thread::sleep_for(std::chrono::milliseconds(250 << (attempt - 2)));
    absl::StatusOr<store::ContentWriterPtr> writer = content_.writer(blob.digest);
    if (!writer.ok()) {
      last = writer.status();
      if (last.code() == absl::StatusCode::kUnavailable) continue;  // another writer holds it
      return last;
    }
    store::ContentWriter& w = **writer;
    onWritten(w, w.offset());
    Throttle throttle;
    last = repo.fetchBlob(blob.digest, w.offset(), [&](std::string_view data) -> absl::Status {
      if (w.offset() + int64_t(data.size()) > blob.size) {
        return absl::DataLossError(strCat("filesystem layer verification failed for digest ", blob.digest,
                                          ": registry sent more than ", blob.size, " bytes"));
      }
      BERTH_RETURN_IF_ERROR(w.write(data));
      onWritten(w, w.offset());
      if (throttle.due()) progress({id, "Downloading", w.offset(), blob.size});
      return absl::OkStatus();
    }, req.cancel);
    if (!last.ok()) {
      if (last.code() == absl::StatusCode::kDataLoss) {
        w.abort();
        return last;
      }
      if (last.code() != absl::StatusCode::kUnavailable || (req.cancel && req.cancel->load())) return last;
      log::warn("layer download interrupted; retrying", {{"digest", blob.digest}, {"error", std::string(last.message())}});
      continue;  // the ingest stays; the next attempt resumes from its offset
    }
    progress({id, "Verifying Checksum"});
    absl::Status st = w.commit(blob.size, blob.digest);
    if (st.code() == absl::StatusCode::kFailedPrecondition) {
      return absl::DataLossError(strCat("filesystem layer verification failed for digest ", blob.digest));
    }
    if (!st.ok() && st.code() != absl::StatusCode::kAlreadyExists) return st;
    progress({id, "Download complete"});
    return absl::OkStatus();
  }
  return last;
}

absl::Status Puller::fetchAndUnpack(registry::Repository& repo, const oci::Descriptor& blob, const std::string& diffId,
                                    const std::string& chainId, const PullRequest& req, const ProgressFn& progress) {
  const std::string id = shortId(blob.digest);
  if (content_.exists(blob.digest)) {
    progress({id, "Download complete"});
    return unpack(blob, diffId, chainId, progress);
  }
  BERTH_ASSIGN_OR_RETURN(oci::Compression compression, oci::layerCompression(blob.mediaType));
  // What the download has written, for the unpacker that follows it.
  struct Tail {
    std::mutex mu;
    std::condition_variable cv;
    UniqueFd reader;
    int64_t available = 0;
    bool started = false, done = false;
    absl::Status status;
  } tail;
  absl::StatusOr<PreparedSnapshot> prepared = absl::InternalError("unpack did not run");
  std::thread unpacker([&] {
    {
      std::unique_lock lock(tail.mu);
      tail.cv.wait(lock, [&] { return tail.started || tail.done; });
      if (!tail.started) return;
    }
    int64_t pos = 0;
    Throttle throttle;
    layer::Source source = [&](char* buf, size_t cap) -> absl::StatusOr<size_t> {
      int64_t available;
      {
        std::unique_lock lock(tail.mu);
        tail.cv.wait(lock, [&] { return tail.available > pos || tail.done; });
        if (tail.available <= pos) {
          if (!tail.status.ok()) return absl::CancelledError("download failed");
          return size_t(0);
        }
        available = tail.available;
      }
      size_t want = size_t(std::min<int64_t>(int64_t(cap), available - pos));
      ssize_t n;
      do {
        n = ::pread(tail.reader.get(), buf, want, pos);
      } while (n < 0 && errno == EINTR);
      if (n < 0) return errnoStatus(errno, strCat("read layer ", blob.digest));
      pos += n;
      return size_t(n);
    };
    UnpackBlobRequest unpackReq{blob.digest, compression, diffId, chainId, [&](int64_t consumed) {
                                  if (throttle.due()) progress({id, "Extracting", consumed, blob.size});
                                }};
    prepared = unpackToIngest(snapshots_, source, compression, unpackReq, unpack_);
  });
  absl::Status st = download(repo, blob, req, progress, [&](store::ContentWriter& w, int64_t offset) {
    std::lock_guard lock(tail.mu);
    if (!tail.started) {
      absl::StatusOr<UniqueFd> fd = w.openReader();
      if (!fd.ok()) return;  // the unpack then runs after the download
      tail.reader = std::move(*fd);
      tail.started = true;
    }
    tail.available = offset;
    tail.cv.notify_all();
  });
  bool streamed;
  {
    std::lock_guard lock(tail.mu);
    tail.done = true;
    tail.status = st;
    streamed = tail.started;
    tail.cv.notify_all();
  }
  unpacker.join();
  BERTH_RETURN_IF_ERROR(st);
  if (!streamed) return unpack(blob, diffId, chainId, progress);
  if (!prepared.ok()) return wrap(prepared.status(), strCat("failed to register layer ", id));
  return commitPrepared(snapshots_, *prepared);
}

absl::Status Puller::unpack(const oci::Descriptor& blob, const std::string& diffId, const std::string& chainId,
                            const ProgressFn& progress) {
  const std::string id = shortId(blob.digest);
  BERTH_ASSIGN_OR_RETURN(oci::Compression compression, oci::layerCompression(blob.mediaType));
  Throttle throttle;
  UnpackBlobRequest req{blob.digest, compression, diffId, chainId, [&](int64_t consumed) {
                          if (throttle.due()) progress({id, "Extracting", consumed, blob.size});
                        }};
  absl::StatusOr<store::SnapshotInfo> info = unpackBlob(content_, snapshots_, req, unpack_);
  if (!info.ok()) return wrap(info.status(), strCat("failed to register layer ", id));
  return absl::OkStatus();
}

absl::Status Puller::ensureLayer(registry::Repository& repo, const oci::Descriptor& blob, const std::string& diffId,
                                 const std::string& chainId, const PullRequest& req, const ProgressFn& progress,
                                 LayerRecord& out) {
  const std::string id = shortId(blob.digest);
  out = LayerRecord{blob.digest, blob.mediaType, blob.size, diffId, chainId, 0};
  std::shared_ptr<Shared> shared;
  {
    std::unique_lock lock(mu_);
    auto it = inflight_.find(chainId);
    if (it != inflight_.end()) {
      std::shared_ptr<Shared> other = it->second;
      progress({id, "Waiting"});
      cv_.wait(lock, [&] { return other->done; });
      if (!other->status.ok()) return other->status;
      out.unpackedSize = other->record.unpackedSize;
      progress({id, "Pull complete"});
      return absl::OkStatus();
    }
    // Another pull may have finished this layer since the caller looked.
    if (absl::StatusOr<store::SnapshotInfo> done = snapshots_.info(chainId); done.ok()) {
      out.unpackedSize = done->size;
      progress({id, "Already exists"});
      return absl::OkStatus();
    }
    shared = std::make_shared<Shared>();
    inflight_[chainId] = shared;
  }
  absl::Status st = fetchAndUnpack(repo, blob, diffId, chainId, req, progress);
  if (st.ok()) {
    absl::StatusOr<store::SnapshotInfo> info = snapshots_.info(chainId);
    if (info.ok()) out.unpackedSize = info->size;
    progress({id, "Pull complete"});
  }
  {
    std::lock_guard lock(mu_);
    shared->done = true;
    shared->status = st;
    shared->record = out;
    inflight_.erase(chainId);
  }
  cv_.notify_all();
  return st;
}

absl::StatusOr<PullResult> Puller::pull(registry::RegistryClient& registry, const PullRequest& req,
                                        const ProgressFn& progress) {
  const Reference& ref = req.ref;
  std::unique_ptr<registry::Repository> repo = registry.repository(ref.domain, ref.path, req.auth, false);
  const std::string tagOrDigest = ref.digest.empty() ? ref.tag : ref.digest;

  absl::StatusOr<registry::FetchedManifest> top = repo->getManifest(tagOrDigest, req.cancel);
  if (!top.ok()) return pullError(top.status(), ref);
  BERTH_ASSIGN_OR_RETURN(oci::ManifestDocument doc, oci::parseManifest(top->body, top->mediaType));
  registry::FetchedManifest platformManifest = *top;
  const oci::Platform want = req.platform.value_or(oci::hostPlatform());
  if (doc.isIndex) {
    BERTH_ASSIGN_OR_RETURN(oci::Descriptor chosen, oci::selectManifest(doc.index, want));
    absl::StatusOr<registry::FetchedManifest> m = repo->getManifest(chosen.digest, req.cancel);
    if (!m.ok()) return pullError(m.status(), ref);
    BERTH_ASSIGN_OR_RETURN(doc, oci::parseManifest(m->body, m->mediaType));
    if (doc.isIndex) return absl::InvalidArgumentError("manifest list entry is itself a manifest list");
    platformManifest = std::move(*m);
  }
  const oci::Manifest& manifest = doc.manifest;
  BERTH_RETURN_IF_ERROR(content_.putSmall(top->digest, top->body));
  BERTH_RETURN_IF_ERROR(content_.putSmall(platformManifest.digest, platformManifest.body));

  // The config: its digest is the image id.
  std::string configText;
  if (content_.exists(manifest.config.digest)) {
    BERTH_ASSIGN_OR_RETURN(configText, content_.read(manifest.config.digest));
  } else {
    BERTH_ASSIGN_OR_RETURN(configText, repo->fetchSmallBlob(manifest.config.digest, kMaxConfigSize));
    BERTH_RETURN_IF_ERROR(content_.putSmall(manifest.config.digest, configText));
  }
  nlohmann::json config = nlohmann::json::parse(configText, nullptr, false);
  absl::StatusOr<std::vector<std::string>> diffIds = configDiffIds(config);
  if (!diffIds.ok()) return wrap(diffIds.status(), strCat("invalid image config ", manifest.config.digest));
  if (diffIds->size() != manifest.layers.size()) {
    return absl::InvalidArgumentError(strCat("invalid image: the manifest has ", manifest.layers.size(),
                                             " layers but the config ", diffIds->size(), " diff ids"));
  }
  if (req.platform) {
    oci::Platform actual{config.value("os", ""), config.value("architecture", ""), config.value("variant", ""), ""};
    if (!oci::matches(oci::normalize(*req.platform), oci::normalize(actual))) {
      return absl::NotFoundError(strCat("image with reference ", ref.familiar(),
                                        " was found but does not match the specified platform: wanted ",
                                        req.platform->toString(), ", actual: ", actual.toString()));
    }
  }
  std::vector<std::string> chains = chainIds(*diffIds);

  ImageRecord record;
  record.id = manifest.config.digest;
  record.config = std::move(config);
  record.manifestDigest = platformManifest.digest;
  record.manifestMediaType = manifest.mediaType;
  std::vector<std::string> tags, digests;
  if (ref.digest.empty()) tags.push_back(strCat(ref.name(), ":", ref.tag));
  digests.push_back(strCat(ref.name(), "@", top->digest));
  const std::string familiar = ref.familiar();

  auto finish = [&](bool downloaded) -> absl::StatusOr<PullResult> {
    progress({"", strCat("Digest: ", top->digest)});
    progress({"", strCat(downloaded ? "Status: Downloaded newer image for " : "Status: Image is up to date for ", familiar)});
    return PullResult{record.id, top->digest, downloaded};
  };

  progress({tagOrDigest, strCat("Pulling from ", ref.path)});
  // Lease everything this image needs until its record is written.
  Leases needed;
  for (const oci::Descriptor& l : manifest.layers) needed.blobs.insert(l.digest);
  needed.blobs.insert({manifest.config.digest, top->digest, platformManifest.digest});
  needed.snapshots.insert(chains.begin(), chains.end());
  LeaseGuard leases(*this);
  leases.add(needed);

  record.layers.resize(manifest.layers.size());
  std::vector<size_t> missing;
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    const oci::Descriptor& l = manifest.layers[i];
    absl::StatusOr<store::SnapshotInfo> info = snapshots_.info(chains[i]);
    if (info.ok()) {
      record.layers[i] = LayerRecord{l.digest, l.mediaType, l.size, (*diffIds)[i], chains[i], info->size};
      progress({shortId(l.digest), "Already exists"});
    } else if (req.metadataOnly) {
      record.layers[i] = LayerRecord{l.digest, l.mediaType, l.size, (*diffIds)[i], chains[i], 0};
      record.layersRemote = true;
      progress({shortId(l.digest), "Skipped (nodes pull layers)"});
    } else {
      absl::StatusOr<oci::Compression> c = oci::layerCompression(l.mediaType);
      if (!c.ok()) return c.status();
      missing.push_back(i);
      progress({shortId(l.digest), "Pulling fs layer"});
    }
  }

  // Layers in parallel, at most concurrency_ at a time, in manifest order.
  std::vector<absl::Status> results(missing.size());
  std::counting_semaphore<64> slots(std::min(concurrency_, 64));
  std::vector<std::thread> workers;
  for (size_t k = 0; k < missing.size(); ++k) {
    slots.acquire();
    workers.emplace_back([&, k] {
      size_t i = missing[k];
      results[k] = ensureLayer(*repo, manifest.layers[i], (*diffIds)[i], chains[i], req, progress, record.layers[i]);
      slots.release();
    });
  }
  for (std::thread& t : workers) t.join();
  for (const absl::Status& st : results) BERTH_RETURN_IF_ERROR(st);

  std::optional<ImageEntry> existing;
  if (absl::StatusOr<std::optional<ImageEntry>> e = images_.byId(record.id); e.ok()) existing = std::move(*e);
  bool alreadyNamed = existing && missing.empty() && existing->record.layersRemote == record.layersRemote;
  if (alreadyNamed) {
    for (const std::string& t : tags) {
      alreadyNamed = alreadyNamed && std::find(existing->tags.begin(), existing->tags.end(), t) != existing->tags.end();
    }
  }
  if (existing) record.lastTagTime = existing->record.lastTagTime;
  BERTH_RETURN_IF_ERROR(images_.put(record, tags, digests));
  return finish(!alreadyNamed);
}

}  // namespace berth::image
