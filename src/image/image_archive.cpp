#include "image/image_archive.h"

#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "image/layer/archive_api.h"
#include "image/layer/decompress.h"
#include "image/unpack_blob.h"
#include "oci/manifest.h"
#include "util/digest.h"
#include "util/random_id.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::image {
namespace {

std::string blobName(std::string_view digest) {
  std::string_view hex = digest;
  consumePrefix(hex, "sha256:");
  return strCat("blobs/sha256/", hex);
}

absl::StatusOr<ArchiveFile> blobFile(store::ContentStore& content, std::string_view digest) {
  BERTH_ASSIGN_OR_RETURN(std::string path, content.path(digest));
  BERTH_ASSIGN_OR_RETURN(int64_t size, content.size(digest));
  return ArchiveFile{blobName(digest), size, path, ""};
}

ArchiveFile inlineFile(std::string name, std::string data) {
  int64_t size = int64_t(data.size());
  return ArchiveFile{std::move(name), size, "", std::move(data)};
}

// "a/b/../c" relative to the archive root; nullopt when it leaves it.
std::optional<std::string> archivePath(std::string_view dir, std::string_view target) {
  std::string joined = target.starts_with('/') ? std::string(target) : strCat(dir, dir.empty() ? "" : "/", target);
  return layer::cleanMemberName(joined);
}

}  // namespace

absl::StatusOr<std::pair<std::string, std::string>> imageManifest(store::ContentStore& content, const ImageRecord& r) {
  if (!r.manifestDigest.empty() && content.exists(r.manifestDigest)) {
    BERTH_ASSIGN_OR_RETURN(std::string body, content.read(r.manifestDigest));
    return std::make_pair(body, r.manifestMediaType.empty() ? std::string(oci::kDockerManifest) : r.manifestMediaType);
  }
  BERTH_ASSIGN_OR_RETURN(int64_t configSize, content.size(r.id));
  nlohmann::ordered_json m;
  m["schemaVersion"] = 2;
  m["mediaType"] = oci::kDockerManifest;
  m["config"] = {{"mediaType", oci::kDockerConfig}, {"size", configSize}, {"digest", r.id}};
  m["layers"] = nlohmann::ordered_json::array();
  for (const LayerRecord& l : r.layers) {
    m["layers"].push_back({{"mediaType", l.mediaType}, {"size", l.size}, {"digest", l.digest}});
  }
  return std::make_pair(m.dump(3), std::string(oci::kDockerManifest));
}

absl::StatusOr<std::vector<ArchiveFile>> planSave(store::ContentStore& content, const std::vector<SaveItem>& items) {
  std::vector<ArchiveFile> files;
  std::set<std::string> written;
  nlohmann::ordered_json index = {{"schemaVersion", 2}, {"mediaType", oci::kOciIndex}};
  index["manifests"] = nlohmann::ordered_json::array();
  nlohmann::ordered_json manifestJson = nlohmann::ordered_json::array();
  auto addBlob = [&](std::string_view digest) -> absl::Status {
    if (!written.insert(std::string(digest)).second) return absl::OkStatus();
    BERTH_ASSIGN_OR_RETURN(ArchiveFile f, blobFile(content, digest));
    files.push_back(std::move(f));
    return absl::OkStatus();
  };
  for (const SaveItem& item : items) {
    const ImageRecord& r = item.image.record;
    BERTH_RETURN_IF_ERROR(addBlob(r.id));
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const LayerRecord& l : r.layers) {
      if (l.digest.empty() || !content.exists(l.digest)) {
        return absl::FailedPreconditionError(strCat("layer ", l.diffId, " of image ", r.id, " has no stored blob"));
      }
      BERTH_RETURN_IF_ERROR(addBlob(l.digest));
      layers.push_back(blobName(l.digest));
    }
    BERTH_ASSIGN_OR_RETURN(auto manifest, imageManifest(content, r));
    std::string manifestDigest = sha256Digest(manifest.first);
    if (written.insert(manifestDigest).second) files.push_back(inlineFile(blobName(manifestDigest), manifest.first));
    nlohmann::ordered_json tags = nlohmann::ordered_json::array();
    auto descriptor = [&] {
      return nlohmann::ordered_json{
          {"mediaType", manifest.second}, {"digest", manifestDigest}, {"size", manifest.first.size()}};
    };
    if (item.names.empty()) {
      index["manifests"].push_back(descriptor());
    }
    for (const std::string& name : item.names) {
      absl::StatusOr<Reference> ref = parseNormalized(name);
      nlohmann::ordered_json d = descriptor();
      d["annotations"] = {{"io.containerd.image.name", name}};
      if (ref.ok() && !ref->tag.empty()) d["annotations"]["org.opencontainers.image.ref.name"] = ref->tag;
      index["manifests"].push_back(d);
      tags.push_back(familiarRef(name));
    }
    manifestJson.push_back({{"Config", blobName(r.id)}, {"RepoTags", tags.empty() ? nlohmann::ordered_json(nullptr) : tags},
                            {"Layers", layers}});
  }
  files.push_back(inlineFile("index.json", index.dump()));
  files.push_back(inlineFile("manifest.json", manifestJson.dump()));
  files.push_back(inlineFile("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  return files;
}

absl::StatusOr<std::vector<LoadedImage>> Loader::load(int fd) {
  BERTH_ASSIGN_OR_RETURN(LibraryLease<layer::ArchiveApi> lease, layer::archiveApi());
  const layer::ArchiveApi* a = lease.get();
  auto decompressor = layer::makeDecompressor(layer::sniffFile(fd), layer::fdSource(fd, "archive"));
  struct Feed {
    layer::Decompressor* d = nullptr;
    std::vector<char> buf = std::vector<char>(1 << 20);
    absl::Status error;
  } feed;
  feed.d = decompressor.get();
  auto readCb = [](struct archive*, void* user, const void** out) -> la_ssize_t {
    auto* f = static_cast<Feed*>(user);
    absl::StatusOr<size_t> n = f->d->read(f->buf.data(), f->buf.size());
    if (!n.ok()) {
      f->error = n.status();
      return -1;
    }
    *out = f->buf.data();
    return la_ssize_t(*n);
  };
  struct archive* ar = a->archive_read_new();
  std::unique_ptr<struct archive, decltype(a->archive_read_free)> guard(ar, a->archive_read_free);
  a->archive_read_support_format_tar(ar);
  a->archive_read_support_filter_none(ar);
  if (a->archive_read_open(ar, &feed, nullptr, readCb, nullptr) != ARCHIVE_OK) {
    if (!feed.error.ok()) return feed.error;
    return absl::InvalidArgumentError("invalid archive: not a tar archive");
  }

  // Every regular file into the content store; names to digests.
  Puller::LeaseGuard leases(leases_);
  std::map<std::string, std::string> files;     // name → digest
  std::map<std::string, std::string> symlinks;  // name → target name
  for (;;) {
    struct archive_entry* e = nullptr;
    int rc = a->archive_read_next_header(ar, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      if (!feed.error.ok()) return feed.error;
      const char* msg = a->archive_error_string(ar);
      return absl::InvalidArgumentError(strCat("invalid archive: ", msg ? msg : "malformed tar"));
    }
    const char* rawName = a->archive_entry_pathname(e);
    std::optional<std::string> name = layer::cleanMemberName(rawName ? rawName : "");
    if (!name || name->empty()) continue;
    mode_t type = a->archive_entry_filetype(e);
    if (type == AE_IFLNK) {
      size_t slash = name->rfind('/');
      std::string dir = slash == std::string::npos ? "" : name->substr(0, slash);
      const char* target = a->archive_entry_symlink(e);
      if (auto t = archivePath(dir, target ? target : "")) symlinks[*name] = *t;
      continue;
    }
    if (const char* link = a->archive_entry_hardlink(e); link != nullptr && *link != 0) {
      if (auto t = layer::cleanMemberName(link)) symlinks[*name] = *t;
      continue;
    }
    if (type != AE_IFREG) continue;
    BERTH_ASSIGN_OR_RETURN(store::ContentWriterPtr w, content_.writer(strCat("load-", newHexId(12))));
    const void* buf = nullptr;
    size_t len = 0;
    la_int64_t offset = 0;
    for (;;) {
      int drc = a->archive_read_data_block(ar, &buf, &len, &offset);
      if (drc == ARCHIVE_EOF) break;
      if (drc < ARCHIVE_WARN) {
        w->abort();
        if (!feed.error.ok()) return feed.error;
        return absl::InvalidArgumentError(strCat("invalid archive: reading ", *name));
      }
      if (offset > w->offset()) BERTH_RETURN_IF_ERROR(w->write(std::string(size_t(offset - w->offset()), '\0')));
      BERTH_RETURN_IF_ERROR(w->write(std::string_view(static_cast<const char*>(buf), len)));
    }
    std::string digest = w->digest();
    if (std::string_view n = *name; consumePrefix(n, "blobs/sha256/") && strCat("sha256:", n) != digest) {
      w->abort();
      return absl::InvalidArgumentError(strCat("invalid archive: ", *name, " does not match its digest (", digest, ")"));
    }
    leases.add(Leases{{digest}, {}});
    absl::Status st = w->commit(w->offset(), digest);
    if (!st.ok() && st.code() != absl::StatusCode::kAlreadyExists) return st;
    files[*name] = digest;
  }
  auto lookup = [&](std::string name) -> std::optional<std::string> {
    for (int hops = 0; hops < 16; ++hops) {
      if (auto f = files.find(name); f != files.end()) return f->second;
      auto l = symlinks.find(name);
      if (l == symlinks.end()) return std::nullopt;
      name = l->second;
    }
    return std::nullopt;
  };
  auto readJson = [&](const std::string& digest) -> absl::StatusOr<nlohmann::json> {
    BERTH_ASSIGN_OR_RETURN(std::string text, content_.read(digest));
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return absl::InvalidArgumentError(strCat("invalid archive: ", digest, " is not JSON"));
    return j;
  };

  // What to load: manifest.json (docker-archive), else the OCI index.
  struct Plan {
    std::string configDigest;
    std::vector<std::string> layerDigests;
    std::vector<std::string> tags;
    std::string manifestDigest, manifestMediaType;
  };
  std::vector<Plan> plans;
  std::map<std::string, std::pair<std::string, std::string>> manifestByConfig;  // from index.json
  if (auto indexDigest = lookup("index.json")) {
    BERTH_ASSIGN_OR_RETURN(nlohmann::json index, readJson(*indexDigest));
    absl::StatusOr<oci::ManifestDocument> doc = oci::parseManifest(index.dump(), oci::kOciIndex);
    if (!doc.ok() || !doc->isIndex) return absl::InvalidArgumentError("invalid archive: malformed index.json");
    for (const oci::Descriptor& d : doc->index.manifests) {
      if (!content_.exists(d.digest)) continue;
      BERTH_ASSIGN_OR_RETURN(std::string body, content_.read(d.digest));
      absl::StatusOr<oci::ManifestDocument> m = oci::parseManifest(body, d.mediaType);
      if (!m.ok() || m->isIndex) continue;
      manifestByConfig[m->manifest.config.digest] = {d.digest, d.mediaType};
      if (lookup("manifest.json")) continue;
      Plan p{m->manifest.config.digest, {}, {}, d.digest, d.mediaType};
      for (const oci::Descriptor& l : m->manifest.layers) p.layerDigests.push_back(l.digest);
      auto name = d.annotations.find("io.containerd.image.name");
      if (name != d.annotations.end()) p.tags.push_back(name->second);
      plans.push_back(std::move(p));
    }
  }
  if (auto mj = lookup("manifest.json")) {
    BERTH_ASSIGN_OR_RETURN(nlohmann::json list, readJson(*mj));
    if (!list.is_array()) return absl::InvalidArgumentError("invalid archive: manifest.json is not an array");
    for (const nlohmann::json& item : list) {
      if (!item.is_object() || !item.contains("Config") || !item["Config"].is_string()) {
        return absl::InvalidArgumentError("invalid archive: manifest.json entry without Config");
      }
      Plan p;
      std::optional<std::string> cfg = lookup(*layer::cleanMemberName(item["Config"].get<std::string>()));
      if (!cfg) return absl::InvalidArgumentError(strCat("invalid archive: missing ", item["Config"].get<std::string>()));
      p.configDigest = *cfg;
      for (const nlohmann::json& l : item.value("Layers", nlohmann::json::array())) {
        std::optional<std::string> clean = l.is_string() ? layer::cleanMemberName(l.get<std::string>()) : std::nullopt;
        std::optional<std::string> d = clean ? lookup(*clean) : std::nullopt;
        if (!d) return absl::InvalidArgumentError(strCat("invalid archive: missing layer ", l.dump()));
        p.layerDigests.push_back(*d);
      }
      if (item.contains("RepoTags") && item["RepoTags"].is_array()) {
        for (const nlohmann::json& t : item["RepoTags"]) {
          if (t.is_string()) p.tags.push_back(t.get<std::string>());
        }
      }
      if (auto m = manifestByConfig.find(p.configDigest); m != manifestByConfig.end()) {
        p.manifestDigest = m->second.first;
        p.manifestMediaType = m->second.second;
      }
      plans.push_back(std::move(p));
    }
  }
  if (plans.empty()) return absl::InvalidArgumentError("invalid archive: no manifest.json or index.json with images");

  std::vector<LoadedImage> out;
  for (const Plan& p : plans) {
    ImageRecord record;
    record.id = p.configDigest;
    BERTH_ASSIGN_OR_RETURN(record.config, readJson(p.configDigest));
    BERTH_ASSIGN_OR_RETURN(std::vector<std::string> diffIds, configDiffIds(record.config));
    if (diffIds.size() != p.layerDigests.size()) {
      return absl::InvalidArgumentError(strCat("invalid archive: image ", p.configDigest, " has ", p.layerDigests.size(),
                                               " layers but ", diffIds.size(), " diff ids"));
    }
    std::vector<std::string> chains = chainIds(diffIds);
    leases.add(Leases{{}, {chains.begin(), chains.end()}});
    for (size_t i = 0; i < diffIds.size(); ++i) {
      const std::string& blob = p.layerDigests[i];
      BERTH_ASSIGN_OR_RETURN(std::string path, content_.path(blob));
      UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!f.valid()) return errnoStatus(errno, strCat("open layer ", blob));
      oci::Compression c = layer::sniffFile(f.get());
      int64_t unpacked = 0;
      if (absl::StatusOr<store::SnapshotInfo> have = snapshots_.info(chains[i]); have.ok()) {
        unpacked = have->size;
      } else {
        UnpackBlobRequest req{blob, c, diffIds[i], chains[i], nullptr};
        absl::StatusOr<store::SnapshotInfo> info = unpackBlob(content_, snapshots_, req, unpack_);
        if (!info.ok()) return wrap(info.status(), strCat("loading layer ", diffIds[i]));
        unpacked = info->size;
      }
      BERTH_ASSIGN_OR_RETURN(int64_t size, content_.size(blob));
      record.layers.push_back({blob, std::string(oci::layerMediaType(c)), size, diffIds[i], chains[i], unpacked});
    }
    record.manifestDigest = p.manifestDigest;
    record.manifestMediaType = p.manifestMediaType;
    LoadedImage loaded{record.id, {}};
    for (const std::string& t : p.tags) {
      absl::StatusOr<Reference> ref = parseNormalized(t);
      if (!ref.ok() || !ref->digest.empty()) return absl::InvalidArgumentError(strCat("invalid archive: bad tag ", t));
      loaded.tags.push_back(withDefaultTag(*ref).canonical());
    }
    BERTH_RETURN_IF_ERROR(images_.put(record, loaded.tags, {}));
    out.push_back(std::move(loaded));
  }
  return out;
}

}  // namespace berth::image
