#include "image/image_store.h"

#include <algorithm>
#include <map>

#include "util/digest.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/timestamp.h"

namespace berth::image {
namespace {

bool isHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

absl::Status noSuchImage(std::string_view name) { return absl::NotFoundError(strCat("No such image: ", name)); }

}  // namespace

std::string familiarRef(std::string_view canonical) {
  absl::StatusOr<Reference> r = parseNormalized(canonical);
  return r.ok() ? r->familiar() : std::string(canonical);
}

absl::Status ImageStore::put(const ImageRecord& record, const std::vector<std::string>& tags,
                             const std::vector<std::string>& digests) {
  store::ImageRow row{record.id, record.createdUnix(), record.size(), record.toJson().dump()};
  int64_t now = toUnixNanos(nowSystem());
  std::vector<store::ImageRefRow> refs;
  for (const std::string& t : tags) refs.push_back({t, record.id, "tag", now});
  for (const std::string& d : digests) refs.push_back({d, record.id, "digest", now});
  return db_.putImage(row, refs);
}

absl::StatusOr<std::optional<ImageEntry>> ImageStore::byId(std::string_view id) {
  BERTH_ASSIGN_OR_RETURN(std::optional<store::ImageRow> row, db_.getImage(id));
  if (!row) return std::optional<ImageEntry>();
  ImageEntry e;
  BERTH_ASSIGN_OR_RETURN(e.record, ImageRecord::fromJson(row->spec));
  BERTH_ASSIGN_OR_RETURN(std::vector<store::ImageRefRow> refs, db_.listImageRefs());
  for (const store::ImageRefRow& r : refs) {
    if (r.imageId != id) continue;
    (r.kind == "tag" ? e.tags : e.digests).push_back(r.ref);
  }
  return std::optional<ImageEntry>(std::move(e));
}

absl::StatusOr<std::vector<ImageEntry>> ImageStore::list() {
  BERTH_ASSIGN_OR_RETURN(std::vector<store::ImageRow> rows, db_.listImages());
  BERTH_ASSIGN_OR_RETURN(std::vector<store::ImageRefRow> refs, db_.listImageRefs());
  std::map<std::string, size_t> index;
  std::vector<ImageEntry> out;
  for (const store::ImageRow& row : rows) {
    absl::StatusOr<ImageRecord> rec = ImageRecord::fromJson(row.spec);
    if (!rec.ok()) continue;  // a damaged record is skipped, not fatal
    index[row.id] = out.size();
    out.push_back(ImageEntry{std::move(*rec), {}, {}});
  }
  for (const store::ImageRefRow& r : refs) {
    auto it = index.find(r.imageId);
    if (it == index.end()) continue;
    (r.kind == "tag" ? out[it->second].tags : out[it->second].digests).push_back(r.ref);
  }
  return out;
}

absl::StatusOr<ImageEntry> ImageStore::resolve(std::string_view name) {
  std::string_view bare = name;
  bool prefixed = consumePrefix(bare, "sha256:");
  // A full id.
  if (bare.size() == 64 && isHex(bare)) {
    BERTH_ASSIGN_OR_RETURN(std::optional<ImageEntry> e, byId(strCat("sha256:", bare)));
    if (e) return std::move(*e);
    if (prefixed) return noSuchImage(name);
  }
  // A reference.
  if (!prefixed) {
    absl::StatusOr<Reference> ref = parseNormalized(name);
    if (ref.ok()) {
      std::string key = withDefaultTag(*ref).canonical();
      if (!ref->digest.empty() && !ref->tag.empty()) key = strCat(ref->name(), "@", ref->digest);
      BERTH_ASSIGN_OR_RETURN(std::vector<store::ImageRefRow> refs, db_.listImageRefs());
      for (const store::ImageRefRow& r : refs) {
        if (r.ref != key) continue;
        BERTH_ASSIGN_OR_RETURN(std::optional<ImageEntry> e, byId(r.imageId));
        if (e) return std::move(*e);
      }
      // A digest reference that is not recorded is no id prefix either.
      if (!ref->digest.empty()) return noSuchImage(name);
    }
  }
  // A short id.
  if (isHex(bare) && bare.size() < 64) {
    BERTH_ASSIGN_OR_RETURN(std::vector<store::ImageRow> rows, db_.listImages());
    std::string found;
    for (const store::ImageRow& row : rows) {
      if (!std::string_view(row.id).substr(7).starts_with(bare)) continue;
      if (!found.empty()) return absl::InvalidArgumentError(strCat("ambiguous image id prefix: ", name));
      found = row.id;
    }
    if (!found.empty()) {
      BERTH_ASSIGN_OR_RETURN(std::optional<ImageEntry> e, byId(found));
      if (e) return std::move(*e);
    }
  }
  absl::StatusOr<Reference> ref = parseNormalized(name);
  if (ref.ok() && !prefixed) return noSuchImage(withDefaultTag(*ref).familiar());
  return noSuchImage(name);
}

absl::Status ImageStore::tag(std::string_view id, std::string_view ref) {
  return db_.setImageRef({std::string(ref), std::string(id), "tag", toUnixNanos(nowSystem())});
}

absl::Status ImageStore::untag(std::string_view ref) { return db_.deleteImageRef(ref); }

absl::Status ImageStore::remove(std::string_view id) { return db_.deleteImage(id); }

}  // namespace berth::image
