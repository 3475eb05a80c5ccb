#include "engine/image_service.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include "image/image_archive.h"
#include "image/importer.h"
#include "image/reference.h"
#include "oci/manifest.h"
#include "oci/platform.h"
#include "util/log.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/timestamp.h"

namespace berth::engine {
namespace {

using api::types::ImageDeleteItem;

std::string shortImageId(std::string_view id) {
  consumePrefix(id, "sha256:");
  return std::string(id.substr(0, 12));
}

std::map<std::string, std::string> imageLabels(const nlohmann::json& config) {
  auto c = config.find("config");
  if (c == config.end() || !c->is_object()) return {};
  auto l = c->find("Labels");
  return l == c->end() ? std::map<std::string, std::string>() : api::types::stringMap(*l);
}

std::vector<std::string> familiarAll(const std::vector<std::string>& refs) {
  std::vector<std::string> out;
  for (const std::string& r : refs) out.push_back(image::familiarRef(r));
  std::sort(out.begin(), out.end());
  return out;
}

// Go's path.Match, as dockerd's reference filter uses it.
bool globMatch(const std::string& pattern, const std::string& text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), FNM_PATHNAME) == 0;
}

bool referenceMatches(const image::ImageEntry& e, const std::set<std::string>& patterns) {
  for (const std::string& p : patterns) {
    for (const std::string& ref : e.tags) {
      absl::StatusOr<image::Reference> r = image::parseNormalized(ref);
      if (!r.ok()) continue;
      if (globMatch(p, r->familiar()) || globMatch(p, r->familiarName())) return true;
    }
  }
  return false;
}

std::string loginDomain(std::string_view server) {
  std::string_view s = trim(server);
  consumePrefix(s, "https://") || consumePrefix(s, "http://");
  s = s.substr(0, s.find('/'));
  if (s.empty() || s == "index.docker.io" || s == "registry-1.docker.io" || s == "docker.io") return "docker.io";
  return std::string(s);
}

layer::UnpackOptions unpackOptions(const ImageServiceOptions& o) {
  layer::UnpackOptions u;
  u.xattrs = o.rootless ? layer::OverlayXattrs::User : layer::OverlayXattrs::Trusted;
  // A rootless daemon is root in its own user namespace: ids it maps take, others fail and stay.
  u.chown = true;
  u.maxBytes = o.maxLayerBytes;
  return u;
}

// A temporary file under <data root>/tmp, unlinked at once: nothing is
// left behind whatever happens to the daemon.
class TempSpool final : public api::backend::UploadSpool {
 public:
  explicit TempSpool(UniqueFd fd) : fd_(std::move(fd)) {}
  absl::Status write(std::string_view data) override { return writeAll(fd_.get(), data); }
  int fd() const override { return fd_.get(); }

 private:
  UniqueFd fd_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<api::backend::UploadSpool>> ImageService::newSpool() {
  std::string dir = options_.dataRoot + "/tmp";
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return errnoStatus(errno, strCat("create a temporary file in ", dir));
  return std::unique_ptr<api::backend::UploadSpool>(new TempSpool(UniqueFd(fd)));
}

absl::StatusOr<std::string> ImageService::importImage(const api::backend::ImageImportOptions& options,
                                                      api::backend::UploadSpool* body) {
  image::ImportRequest req;
  if (!options.repo.empty()) {
    BERTH_ASSIGN_OR_RETURN(image::Reference ref, image::parseNormalized(options.repo));
    if (!ref.digest.empty()) return absl::InvalidArgumentError("cannot import to a digest reference");
    if (!options.tag.empty()) {
      if (!image::isValidTag(options.tag)) return absl::InvalidArgumentError("invalid tag format");
      ref.tag = options.tag;
    }
    req.tag = image::withDefaultTag(ref).canonical();
  }
  req.message = options.message;
  req.changes = options.changes;
  if (!options.platform.empty()) {
    BERTH_ASSIGN_OR_RETURN(oci::Platform p, oci::parsePlatform(options.platform));
    req.platform = oci::normalize(p);
  }
  std::unique_ptr<api::backend::UploadSpool> downloaded;
  if (options.source != "-") {
    // A URL: fetched into a spool first, as dockerd does.
    if (!options.source.starts_with("http://") && !options.source.starts_with("https://")) {
      return absl::InvalidArgumentError(strCat("import source must be - or an http(s) URL: ", options.source));
    }
    BERTH_ASSIGN_OR_RETURN(downloaded, newSpool());
    BERTH_ASSIGN_OR_RETURN(registry::RegistryClient * client, registryClient());
    registry::HttpRequest get;
    get.url = options.source;
    registry::BodySink sink = [&](long, std::string_view data) { return downloaded->write(data); };
    BERTH_ASSIGN_OR_RETURN(registry::HttpResponse resp, client->http().perform(get, &sink, 64 << 10, &stopping_));
    if (resp.status < 200 || resp.status >= 300) {
      return absl::InvalidArgumentError(strCat("import from ", options.source, ": HTTP status ", resp.status));
    }
    body = downloaded.get();
  }
  if (body == nullptr) return absl::InvalidArgumentError("import needs a request body");
  BERTH_ASSIGN_OR_RETURN(std::string id, image::importRootfs(*content_, *snapshots_, images_, puller_, unpack_,
                                                             body->fd(), req));
  publish("import", id, {{"name", id}});
  return id;
}

absl::StatusOr<std::vector<std::string>> ImageService::loadImages(api::backend::UploadSpool& body) {
  if (::lseek(body.fd(), 0, SEEK_SET) < 0) return errnoStatus(errno, "rewind upload");
  image::Loader loader(*content_, *snapshots_, images_, puller_, unpack_);
  absl::StatusOr<std::vector<image::LoadedImage>> loaded;
  {
    std::lock_guard lock(namesMu_);
    loaded = loader.load(body.fd());
  }
  // Whatever the archive carried that no image uses, and whatever a failed
  // load left, goes now.
  if (absl::StatusOr<Collected> gc = collectGarbage(); !gc.ok()) {
    log::warn("garbage collection after load failed", {{"error", std::string(gc.status().message())}});
  }
  if (!loaded.ok()) return loaded.status();
  std::vector<std::string> lines;
  for (const image::LoadedImage& l : *loaded) {
    if (l.tags.empty()) lines.push_back(strCat("Loaded image ID: ", l.id));
    for (const std::string& t : l.tags) lines.push_back(strCat("Loaded image: ", image::familiarRef(t)));
    publish("load", l.id, {{"name", l.id}});
  }
  return lines;
}

absl::Status ImageService::layersHere(const image::ImageEntry& e, std::string_view name) {
  if (!e.record.layersRemote) return absl::OkStatus();
  return absl::FailedPreconditionError(strCat("image ", name, " has no layers here: the kube backend pulls only ",
                                              "the manifest and config, and the cluster's nodes pull the layers"));
}

absl::StatusOr<std::vector<api::backend::ArchiveFile>> ImageService::saveImages(const std::vector<std::string>& names) {
  if (names.empty()) return absl::InvalidArgumentError("no images to save");
  std::vector<image::SaveItem> items;
  std::map<std::string, size_t> byId;
  for (const std::string& name : names) {
    BERTH_ASSIGN_OR_RETURN(image::ImageEntry e, images_.resolve(name));
    BERTH_RETURN_IF_ERROR(layersHere(e, name));
    // A name that is a tag is recorded in the archive; an id records none.
    std::vector<std::string> recorded;
    absl::StatusOr<image::Reference> ref = image::parseNormalized(name);
    std::string canonical = ref.ok() ? image::withDefaultTag(*ref).canonical() : "";
    if (ref.ok() && ref->digest.empty() && std::find(e.tags.begin(), e.tags.end(), canonical) != e.tags.end()) {
      recorded.push_back(canonical);
    }
    auto it = byId.find(e.record.id);
    if (it == byId.end()) {
      byId[e.record.id] = items.size();
      items.push_back({std::move(e), recorded});
    } else {
      for (const std::string& r : recorded) {
        auto& n = items[it->second].names;
        if (std::find(n.begin(), n.end(), r) == n.end()) n.push_back(r);
      }
    }
  }
  BERTH_ASSIGN_OR_RETURN(std::vector<image::ArchiveFile> files, image::planSave(*content_, items));
  std::vector<api::backend::ArchiveFile> out;
  for (image::ArchiveFile& f : files) out.push_back({std::move(f.name), f.size, std::move(f.path), std::move(f.data)});
  for (const image::SaveItem& item : items) publish("save", item.image.record.id, {{"name", item.image.record.id}});
  return out;
}

absl::StatusOr<std::unique_ptr<ImageService>> ImageService::create(ImageServiceOptions options, store::StateStore& db,
                                                                   EventBus& events) {
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<store::ContentStore> content,
                         store::ContentStore::open(options.dataRoot + "/content"));
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<store::SnapshotStore> snapshots,
                         store::SnapshotStore::open(options.dataRoot + "/snapshots"));
  std::error_code ec;
  std::filesystem::create_directories(options.dataRoot + "/tmp", ec);
  if (ec) return absl::InternalError(strCat("create ", options.dataRoot, "/tmp: ", ec.message()));
  return std::unique_ptr<ImageService>(
      new ImageService(std::move(options), db, events, std::move(content), std::move(snapshots)));
}

ImageService::ImageService(ImageServiceOptions options, store::StateStore& db, EventBus& events,
                           std::unique_ptr<store::ContentStore> content, std::unique_ptr<store::SnapshotStore> snapshots)
    : options_(std::move(options)),
      db_(db),
      events_(events),
      content_(std::move(content)),
      snapshots_(std::move(snapshots)),
      images_(db),
      puller_(*content_, *snapshots_, images_, unpackOptions(options_), options_.maxConcurrentDownloads),
      pusher_(*content_, images_, 5),
      unpack_(unpackOptions(options_)) {}

ImageService::~ImageService() {
  stopping_ = true;
  std::unique_lock lock(threadsMu_);
  threadsCv_.wait(lock, [&] { return activeThreads_ == 0; });
}

absl::StatusOr<registry::RegistryClient*> ImageService::registryClient() {
  std::lock_guard lock(registryMu_);
  if (!registry_) {
    registry::RegistryOptions o;
    o.insecureRegistries = options_.insecureRegistries;
    o.userAgent = options_.userAgent;
    BERTH_ASSIGN_OR_RETURN(registry_, registry::RegistryClient::create(std::move(o)));
  }
  return registry_.get();
}

void ImageService::publish(std::string action, std::string actor, std::map<std::string, std::string> attributes) {
  events_.publish("image", std::move(action), std::move(actor), std::move(attributes));
}

void ImageService::runJob(std::function<absl::Status()> job, api::backend::DoneCallback done) {
  {
    std::lock_guard lock(threadsMu_);
    ++activeThreads_;
  }
  std::thread([this, job = std::move(job), done = std::move(done)] {
    absl::Status st = stopping_ ? absl::UnavailableError("the daemon is shutting down") : job();
    done(st);
    std::lock_guard lock(threadsMu_);
    // A pull's buffers (HTTP bodies, decompression windows, tar blocks) are
    // free now but glibc keeps them in its arenas; hand them back so an idle
    // daemon does not keep its busiest moment's memory.
    if (--activeThreads_ == 0) malloc_trim(0);
    threadsCv_.notify_all();
  }).detach();
}

void ImageService::startPull(api::backend::ImagePullOptions options, api::backend::ProgressSink progress,
                             api::backend::DoneCallback done) {
  runJob([this, options = std::move(options), progress = std::move(progress)] { return pull(options, progress); },
         std::move(done));
}

void ImageService::startPush(api::backend::ImagePushOptions options, api::backend::ProgressSink progress,
                             api::backend::DoneCallback done) {
  runJob([this, options = std::move(options), progress = std::move(progress)] { return push(options, progress); },
         std::move(done));
}

absl::Status ImageService::push(const api::backend::ImagePushOptions& options,
                                const api::backend::ProgressSink& progress) {
  BERTH_ASSIGN_OR_RETURN(image::Reference repo, image::parseNormalized(options.name));
  if (!repo.digest.empty()) return absl::InvalidArgumentError("cannot push a digest reference");
  if (!options.tag.empty()) {
    if (!image::isValidTag(options.tag)) return absl::InvalidArgumentError("invalid tag format");
    repo.tag = options.tag;
  }
  // Which tags: the one named, or every tag of the repository.
  std::vector<image::Reference> targets;
  if (!repo.tag.empty()) {
    targets.push_back(repo);
  } else {
    BERTH_ASSIGN_OR_RETURN(std::vector<image::ImageEntry> all, images_.list());
    for (const image::ImageEntry& e : all) {
      for (const std::string& t : e.tags) {
        absl::StatusOr<image::Reference> r = image::parseNormalized(t);
        if (r.ok() && r->name() == repo.name()) targets.push_back(*r);
      }
    }
    if (targets.empty()) return absl::NotFoundError(strCat("An image does not exist locally with the tag: ", repo.familiarName()));
  }
  BERTH_ASSIGN_OR_RETURN(registry::AuthConfig auth, registry::decodeRegistryAuth(options.registryAuth));
  BERTH_ASSIGN_OR_RETURN(registry::RegistryClient * client, registryClient());
  for (const image::Reference& target : targets) {
    absl::StatusOr<image::ImageEntry> e = images_.resolve(target.canonical());
    if (!e.ok()) return absl::NotFoundError(strCat("An image does not exist locally with the tag: ", target.familiar()));
    BERTH_RETURN_IF_ERROR(layersHere(*e, target.familiar()));
    image::PushRequest req{target, auth, &stopping_};
    absl::StatusOr<image::PushResult> result = pusher_.push(*client, *e, req, [&](const image::Progress& p) {
      progress(api::types::ProgressLine{p.id, p.status, p.current, p.total});
    });
    if (!result.ok()) return result.status();
    publish("push", target.familiar(), {{"name", target.familiarName()}});
  }
  return absl::OkStatus();
}

absl::StatusOr<api::types::DistributionInspect> ImageService::distributionInspect(std::string_view name,
                                                                                  std::string_view registryAuth) {
  BERTH_ASSIGN_OR_RETURN(image::Reference ref, image::parseNormalized(name));
  ref = image::withDefaultTag(ref);
  BERTH_ASSIGN_OR_RETURN(registry::AuthConfig auth, registry::decodeRegistryAuth(registryAuth));
  BERTH_ASSIGN_OR_RETURN(registry::RegistryClient * client, registryClient());
  std::unique_ptr<registry::Repository> repo = client->repository(ref.domain, ref.path, auth, false);
  absl::StatusOr<registry::FetchedManifest> m = repo->getManifest(ref.digest.empty() ? ref.tag : ref.digest, &stopping_);
  if (!m.ok()) {
    if (m.status().code() == absl::StatusCode::kNotFound || m.status().code() == absl::StatusCode::kUnauthenticated) {
      return absl::Status(m.status().code(), strCat("manifest for ", ref.familiar(), " not found: ", m.status().message()));
    }
    return m.status();
  }
  BERTH_ASSIGN_OR_RETURN(oci::ManifestDocument doc, oci::parseManifest(m->body, m->mediaType));
  api::types::DistributionInspect out;
  out.digest = m->digest;
  out.size = int64_t(m->body.size());
  out.mediaType = doc.isIndex ? doc.index.mediaType : doc.manifest.mediaType;
  if (out.mediaType.empty()) out.mediaType = m->mediaType;
  if (doc.isIndex) {
    for (const oci::Descriptor& d : doc.index.manifests) {
      if (!d.platform) continue;
      out.platforms.push_back({d.platform->architecture, d.platform->os, d.platform->osVersion, d.platform->variant});
    }
  } else {
    BERTH_ASSIGN_OR_RETURN(std::string configText, repo->fetchSmallBlob(doc.manifest.config.digest, 8 << 20));
    nlohmann::json c = nlohmann::json::parse(configText, nullptr, false);
    if (!c.is_object()) return absl::InvalidArgumentError(strCat("invalid image config ", doc.manifest.config.digest));
    out.platforms.push_back({c.value("architecture", ""), c.value("os", ""), c.value("os.version", ""), c.value("variant", "")});
  }
  return out;
}

absl::Status ImageService::pull(const api::backend::ImagePullOptions& options,
                                const api::backend::ProgressSink& progress) {
  if (options.fromImage.empty()) return absl::InvalidArgumentError("invalid reference format");
  BERTH_ASSIGN_OR_RETURN(image::Reference ref, image::parseNormalized(options.fromImage));
  if (!options.tag.empty()) {
    if (image::isValidDigest(options.tag)) {
      ref.digest = options.tag;
      ref.tag.clear();
    } else if (image::isValidTag(options.tag)) {
      ref.tag = options.tag;
    } else {
      return absl::InvalidArgumentError("invalid reference format");
    }
  }
  image::PullRequest req;
  req.ref = image::withDefaultTag(ref);
  if (!options.platform.empty()) {
    BERTH_ASSIGN_OR_RETURN(oci::Platform p, oci::parsePlatform(options.platform));
    req.platform = oci::normalize(p);
  }
  BERTH_ASSIGN_OR_RETURN(req.auth, registry::decodeRegistryAuth(options.registryAuth));
  req.cancel = &stopping_;
  req.metadataOnly = options_.metadataOnly;
  BERTH_ASSIGN_OR_RETURN(registry::RegistryClient * client, registryClient());
  absl::StatusOr<image::PullResult> result = puller_.pull(*client, req, [&](const image::Progress& p) {
    progress(api::types::ProgressLine{p.id, p.status, p.current, p.total});
  });
  if (!result.ok()) {
    log::warn("pull failed", {{"image", req.ref.familiar()}, {"error", std::string(result.status().message())}});
    return result.status();
  }
  publish("pull", req.ref.familiar(), {{"name", req.ref.familiarName()}});
  return absl::OkStatus();
}

api::types::ImageSummary ImageService::summary(const image::ImageEntry& e) const {
  api::types::ImageSummary s;
  s.id = e.record.id;
  s.parentId = e.record.parent;
  s.repoTags = familiarAll(e.tags);
  s.repoDigests = familiarAll(e.digests);
  s.created = e.record.createdUnix();
  s.size = e.record.size();
  s.labels = imageLabels(e.record.config);
  return s;
}

absl::StatusOr<std::vector<std::string>> ImageService::chainIdsOf(std::string_view imageId) {
  BERTH_ASSIGN_OR_RETURN(std::optional<image::ImageEntry> e, images_.byId(imageId));
  if (!e) return absl::NotFoundError(strCat("No such image: ", imageId));
  std::vector<std::string> out;
  for (const image::LayerRecord& l : e->record.layers) out.push_back(l.chainId);
  return out;
}

absl::StatusOr<std::vector<std::string>> ImageService::snapshotPaths(const std::vector<std::string>& chainIds) {
  std::vector<std::string> out;
  for (const std::string& c : chainIds) {
    if (!options_.metadataOnly && !snapshots_->info(c).ok()) {
      return absl::FailedPreconditionError(
          strCat("layer ", shortImageId(c), " of the image is not in this data root (the kube backend pulled only ",
                 "its manifest and config): pull the image again"));
    }
    BERTH_ASSIGN_OR_RETURN(std::string p, snapshots_->fsPath(c));
    out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<std::vector<api::types::ImageSummary>> ImageService::diskUsage() {
  BERTH_ASSIGN_OR_RETURN(std::vector<image::ImageEntry> all, images_.list());
  std::map<std::string, int> layerUsers;  // chain id → images using it
  for (const image::ImageEntry& e : all) {
    for (const image::LayerRecord& l : e.record.layers) ++layerUsers[l.chainId];
  }
  std::map<std::string, int64_t> containersOf;
  if (uses_) {
    BERTH_ASSIGN_OR_RETURN(std::vector<ImageUse> uses, uses_());
    for (const ImageUse& u : uses) ++containersOf[u.imageId];
  }
  std::vector<api::types::ImageSummary> out;
  for (const image::ImageEntry& e : all) {
    api::types::ImageSummary s = summary(e);
    s.sharedSize = 0;
    for (const image::LayerRecord& l : e.record.layers) {
      if (layerUsers[l.chainId] > 1) s.sharedSize += e.record.layerSize(l);
    }
    s.containers = containersOf[e.record.id];
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<std::vector<api::types::ImageSummary>> ImageService::listImages(
    const api::backend::ImageListOptions& options) {
  const api::types::Filters& f = options.filters;
  BERTH_RETURN_IF_ERROR(api::types::validateFilterKeys(f, {"dangling", "label", "reference", "before", "since", "until"}));
  BERTH_ASSIGN_OR_RETURN(std::optional<bool> dangling, api::types::boolFilter(f, "dangling"));
  std::optional<int64_t> before, since;
  for (const char* key : {"before", "since"}) {
    auto it = f.find(key);
    if (it == f.end()) continue;
    for (const std::string& v : it->second) {
      BERTH_ASSIGN_OR_RETURN(image::ImageEntry ref, images_.resolve(v));
      (std::string_view(key) == "before" ? before : since) = ref.record.createdUnix();
    }
  }
  BERTH_ASSIGN_OR_RETURN(std::optional<int64_t> until, api::types::timeFilter(f, "until"));

  BERTH_ASSIGN_OR_RETURN(std::vector<image::ImageEntry> all, images_.list());
  std::vector<api::types::ImageSummary> out;
  for (const image::ImageEntry& e : all) {
    if (dangling && (e.tags.empty() != *dangling)) continue;
    int64_t created = e.record.createdUnix();
    if (before && created >= *before) continue;
    if (since && created <= *since) continue;
    if (until && created > *until / 1'000'000'000) continue;
    if (auto it = f.find("reference"); it != f.end() && !referenceMatches(e, it->second)) continue;
    if (!api::types::labelsMatch(f, imageLabels(e.record.config))) continue;
    out.push_back(summary(e));
  }
  return out;
}

absl::StatusOr<api::types::ImageInspect> ImageService::inspectImage(std::string_view name) {
  BERTH_ASSIGN_OR_RETURN(image::ImageEntry e, images_.resolve(name));
  const nlohmann::json& c = e.record.config;
  api::types::ImageInspect i;
  i.id = e.record.id;
  i.repoTags = familiarAll(e.tags);
  i.repoDigests = familiarAll(e.digests);
  i.parent = e.record.parent;
  i.comment = c.value("comment", "");
  i.created = e.record.createdText();
  i.author = c.value("author", "");
  if (auto it = c.find("config"); it != c.end() && it->is_object()) i.config = *it;
  i.architecture = c.value("architecture", "");
  i.variant = c.value("variant", "");
  i.os = c.value("os", "");
  i.osVersion = c.value("os.version", "");
  i.size = e.record.size();
  i.graphDriver = options_.graphDriver;
  std::vector<std::string> lowers;
  for (auto it = e.record.layers.rbegin(); it != e.record.layers.rend(); ++it) {
    absl::StatusOr<std::string> p = snapshots_->fsPath(it->chainId);
    if (p.ok()) lowers.push_back(*p);
  }
  if (!lowers.empty()) i.graphDriverData["LowerDir"] = join(lowers, ":");
  for (const image::LayerRecord& l : e.record.layers) i.layers.push_back(l.diffId);
  if (e.record.lastTagTime > 0) i.lastTagTime = formatRfc3339Nano(fromUnixNanos(e.record.lastTagTime));
  if (!e.record.manifestDigest.empty()) {
    i.manifestDigest = e.record.manifestDigest;
    i.manifestMediaType = e.record.manifestMediaType;
    absl::StatusOr<int64_t> size = content_->size(e.record.manifestDigest);
    i.manifestSize = size.ok() ? *size : 0;
  }
  return i;
}

absl::StatusOr<std::vector<api::types::ImageHistoryItem>> ImageService::imageHistory(std::string_view name) {
  BERTH_ASSIGN_OR_RETURN(image::ImageEntry e, images_.resolve(name));
  const nlohmann::json& c = e.record.config;
  std::vector<api::types::ImageHistoryItem> out;
  size_t layer = 0;
  auto createdOf = [](const nlohmann::json& h) -> int64_t {
    absl::StatusOr<SystemTime> t = parseRfc3339(h.value("created", ""));
    return t.ok() ? toUnixNanos(*t) / 1'000'000'000 : 0;
  };
  auto hist = c.find("history");
  if (hist != c.end() && hist->is_array() && !hist->empty()) {
    for (const nlohmann::json& h : *hist) {
      if (!h.is_object()) continue;
      api::types::ImageHistoryItem item;
      item.id = "<missing>";
      item.created = createdOf(h);
      item.createdBy = h.value("created_by", "");
      item.comment = h.value("comment", "");
      if (!h.value("empty_layer", false) && layer < e.record.layers.size()) {
        item.size = e.record.layerSize(e.record.layers[layer++]);
      }
      out.push_back(std::move(item));
    }
  } else {
    for (const image::LayerRecord& l : e.record.layers) {
      api::types::ImageHistoryItem item;
      item.id = "<missing>";
      item.created = e.record.createdUnix();
      item.size = e.record.layerSize(l);
      out.push_back(std::move(item));
    }
  }
  std::reverse(out.begin(), out.end());
  if (!out.empty()) {
    out.front().id = e.record.id;
    out.front().tags = familiarAll(e.tags);
  }
  return out;
}

absl::Status ImageService::tagImage(std::string_view name, std::string_view repo, std::string_view tag) {
  if (repo.empty()) return absl::InvalidArgumentError("repository name must have at least one component");
  absl::StatusOr<image::Reference> target = image::parseNormalized(repo);
  if (!target.ok()) return absl::InvalidArgumentError(strCat("Error parsing reference: \"", repo, "\" is not a valid repository/tag: invalid reference format"));
  if (!target->digest.empty()) return absl::InvalidArgumentError("refusing to create a tag with a digest reference");
  if (!tag.empty()) {
    if (!image::isValidTag(tag)) return absl::InvalidArgumentError(strCat("invalid tag format"));
    target->tag = std::string(tag);
  }
  image::Reference full = image::withDefaultTag(*target);
  std::lock_guard lock(namesMu_);
  BERTH_ASSIGN_OR_RETURN(image::ImageEntry e, images_.resolve(name));
  BERTH_RETURN_IF_ERROR(images_.tag(e.record.id, full.canonical()));
  e.record.lastTagTime = toUnixNanos(nowSystem());
  BERTH_RETURN_IF_ERROR(images_.put(e.record, {}, {}));
  publish("tag", e.record.id, {{"name", full.familiar()}});
  return absl::OkStatus();
}

absl::Status ImageService::deleteImage(const image::ImageEntry& e, std::vector<ImageDeleteItem>& out) {
  BERTH_RETURN_IF_ERROR(images_.remove(e.record.id));
  out.push_back({"", e.record.id});
  publish("delete", e.record.id, {{"name", e.record.id}});
  absl::StatusOr<Collected> gc = collectGarbage();
  if (!gc.ok()) {
    log::warn("image garbage collection failed", {{"error", std::string(gc.status().message())}});
    return absl::OkStatus();
  }
  for (const std::string& chain : gc->snapshots) out.push_back({"", chain});
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ImageDeleteItem>> ImageService::removeImage(std::string_view name,
                                                                       const api::backend::ImageRemoveOptions& options) {
  std::lock_guard lock(namesMu_);
  BERTH_ASSIGN_OR_RETURN(image::ImageEntry e, images_.resolve(name));
  std::vector<ImageDeleteItem> out;
  std::string_view bare = name;
  consumePrefix(bare, "sha256:");
  bool byId = std::string_view(e.record.id).substr(7).starts_with(bare) &&
              bare.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  absl::StatusOr<image::Reference> parsed = image::parseNormalized(name);
  if (byId && parsed.ok()) {
    // A name that is both a short id and a repository ("abc123"): it was
    // resolved as a reference when such a tag exists.
    std::string key = image::withDefaultTag(*parsed).canonical();
    if (std::find(e.tags.begin(), e.tags.end(), key) != e.tags.end()) byId = false;
  }

  // Containers using the image: a running one blocks even a forced delete,
  // a stopped one blocks an unforced one.
  std::vector<ImageUse> users;
  if (uses_) {
    BERTH_ASSIGN_OR_RETURN(std::vector<ImageUse> all, uses_());
    for (ImageUse& u : all) {
      if (u.imageId == e.record.id) users.push_back(std::move(u));
    }
  }
  auto conflict = [&](bool byReference, const std::string& ref) -> absl::Status {
    for (const ImageUse& u : users) {
      if (u.running) {
        return absl::FailedPreconditionError(strCat("conflict: unable to delete ", shortImageId(e.record.id),
                                                    " (cannot be forced) - image is being used by running container ",
                                                    u.containerId.substr(0, 12)));
      }
    }
    if (users.empty() || options.force) return absl::OkStatus();
    if (byReference) {
      return absl::FailedPreconditionError(strCat("conflict: unable to remove repository reference \"", ref,
                                                  "\" (must force) - container ", users[0].containerId.substr(0, 12),
                                                  " is using its referenced image ", shortImageId(e.record.id)));
    }
    return absl::FailedPreconditionError(strCat("conflict: unable to delete ", shortImageId(e.record.id),
                                                " (must be forced) - image is being used by stopped container ",
                                                users[0].containerId.substr(0, 12)));
  };

  auto untag = [&](const std::string& ref) -> absl::Status {
    BERTH_RETURN_IF_ERROR(images_.untag(ref));
    out.push_back({image::familiarRef(ref), ""});
    publish("untag", e.record.id, {{"name", e.record.id}});
    return absl::OkStatus();
  };
  auto nameOf = [](const std::string& ref) {
    absl::StatusOr<image::Reference> r = image::parseNormalized(ref);
    return r.ok() ? r->name() : ref;
  };

  if (!byId && parsed.ok()) {
    image::Reference ref = image::withDefaultTag(*parsed);
    std::string key = ref.digest.empty() ? ref.canonical() : strCat(ref.name(), "@", ref.digest);
    // The last name of an image in use by a container needs force.
    if (e.tags.size() + e.digests.size() == 1 ||
        (ref.digest.empty() && e.tags.size() == 1)) {
      BERTH_RETURN_IF_ERROR(conflict(true, std::string(name)));
    }
    BERTH_RETURN_IF_ERROR(untag(key));
    std::vector<std::string> tags, digests;
    for (const std::string& t : e.tags) {
      if (t != key) tags.push_back(t);
    }
    for (const std::string& d : e.digests) {
      if (d != key) digests.push_back(d);
    }
    // Untagging the last tag of a repository also drops its digest refs.
    if (ref.digest.empty()) {
      bool repoTagLeft = std::any_of(tags.begin(), tags.end(), [&](const std::string& t) { return nameOf(t) == ref.name(); });
      if (!repoTagLeft) {
        std::vector<std::string> keep;
        for (const std::string& d : digests) {
          if (nameOf(d) == ref.name()) {
            BERTH_RETURN_IF_ERROR(untag(d));
          } else {
            keep.push_back(d);
          }
        }
        digests = std::move(keep);
      }
    }
    if (!tags.empty() || !digests.empty()) return out;
    BERTH_RETURN_IF_ERROR(deleteImage(e, out));
    return out;
  }

  // By id: every name goes, if they are all of one repository (or forced).
  std::set<std::string> repos;
  for (const std::string& r : e.tags) repos.insert(nameOf(r));
  for (const std::string& r : e.digests) repos.insert(nameOf(r));
  BERTH_RETURN_IF_ERROR(conflict(false, ""));
  if (repos.size() > 1 && !options.force) {
    return absl::FailedPreconditionError(strCat("conflict: unable to delete ", shortImageId(e.record.id),
                                                " (must be forced) - image is referenced in multiple repositories"));
  }
  for (const std::string& t : e.tags) BERTH_RETURN_IF_ERROR(untag(t));
  for (const std::string& d : e.digests) BERTH_RETURN_IF_ERROR(untag(d));
  BERTH_RETURN_IF_ERROR(deleteImage(e, out));
  return out;
}

absl::StatusOr<ImageService::Collected> ImageService::collectGarbage() {
  std::lock_guard gcLock(puller_.gcMutex());
  image::Leases keep = puller_.leases();
  BERTH_ASSIGN_OR_RETURN(std::vector<image::ImageEntry> all, images_.list());
  for (const image::ImageEntry& e : all) {
    keep.blobs.insert(e.record.id);
    if (!e.record.manifestDigest.empty()) keep.blobs.insert(e.record.manifestDigest);
    for (const std::string& d : e.digests) keep.blobs.insert(d.substr(d.rfind('@') + 1));
    for (const image::LayerRecord& l : e.record.layers) {
      if (!l.digest.empty()) keep.blobs.insert(l.digest);
      keep.snapshots.insert(l.chainId);
    }
  }
  if (uses_) {
    BERTH_ASSIGN_OR_RETURN(std::vector<ImageUse> uses, uses_());
    for (const ImageUse& u : uses) keep.snapshots.insert(u.chainIds.begin(), u.chainIds.end());
  }
  Collected out;
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> snaps, snapshots_->list());
  for (const std::string& s : snaps) {
    if (keep.snapshots.contains(s)) continue;
    absl::StatusOr<store::SnapshotInfo> info = snapshots_->info(s);
    BERTH_RETURN_IF_ERROR(snapshots_->remove(s));
    if (info.ok()) out.bytes += info->size;
    out.snapshots.push_back(s);
  }
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> blobs, content_->list());
  for (const std::string& b : blobs) {
    if (keep.blobs.contains(b)) continue;
    BERTH_RETURN_IF_ERROR(content_->remove(b));
  }
  return out;
}

absl::StatusOr<api::types::ImagePruneReport> ImageService::pruneImages(const api::types::Filters& filters) {
  BERTH_RETURN_IF_ERROR(api::types::validateFilterKeys(filters, {"dangling", "label", "label!", "until"}));
  BERTH_ASSIGN_OR_RETURN(std::optional<bool> dangling, api::types::boolFilter(filters, "dangling"));
  bool danglingOnly = dangling.value_or(true);
  BERTH_ASSIGN_OR_RETURN(std::optional<int64_t> until, api::types::timeFilter(filters, "until"));
  std::lock_guard lock(namesMu_);
  BERTH_ASSIGN_OR_RETURN(std::vector<image::ImageEntry> all, images_.list());
  api::types::ImagePruneReport report;
  bool removedAny = false;
  for (const image::ImageEntry& e : all) {
    if (danglingOnly && !e.tags.empty()) continue;
    if (until && e.record.createdUnix() >= *until / 1'000'000'000) continue;
    if (!api::types::labelsMatch(filters, imageLabels(e.record.config))) continue;
    for (const std::string& t : e.tags) {
      BERTH_RETURN_IF_ERROR(images_.untag(t));
      report.deleted.push_back({image::familiarRef(t), ""});
    }
    for (const std::string& d : e.digests) {
      BERTH_RETURN_IF_ERROR(images_.untag(d));
      report.deleted.push_back({image::familiarRef(d), ""});
    }
    BERTH_RETURN_IF_ERROR(images_.remove(e.record.id));
    report.deleted.push_back({"", e.record.id});
    publish("delete", e.record.id, {{"name", e.record.id}});
    removedAny = true;
  }
  if (removedAny) {
    BERTH_ASSIGN_OR_RETURN(Collected gc, collectGarbage());
    for (const std::string& s : gc.snapshots) report.deleted.push_back({"", s});
    report.spaceReclaimed = gc.bytes;
  }
  publish("prune", "", {{"reclaimed", strCat(report.spaceReclaimed)}});
  return report;
}

absl::StatusOr<api::backend::LoginResult> ImageService::login(std::string_view authConfigJson) {
  BERTH_ASSIGN_OR_RETURN(registry::AuthConfig auth, registry::parseAuthConfig(authConfigJson));
  BERTH_ASSIGN_OR_RETURN(registry::RegistryClient * client, registryClient());
  absl::Status st = client->login(loginDomain(auth.serverAddress), auth);
  if (!st.ok()) {
    if (st.code() == absl::StatusCode::kUnauthenticated) return st;
    return absl::Status(st.code(), strCat("login to ", loginDomain(auth.serverAddress), " failed: ", st.message()));
  }
  return api::backend::LoginResult{"Login Succeeded", ""};
}

}  // namespace berth::engine
