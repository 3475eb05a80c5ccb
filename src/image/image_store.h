#pragma once
// Image records and the names that point at them, over the state database:
// lookups the way dockerd resolves an image argument (a reference, a full
// or short id, a digest reference), tagging and untagging.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "image/image_record.h"
#include "image/reference.h"
#include "store/state_store.h"

namespace berth::image {

struct ImageEntry {
  ImageRecord record;
  std::vector<std::string> tags;     // canonical "domain/path:tag", sorted
  std::vector<std::string> digests;  // canonical "domain/path@sha256:…", sorted
};

class ImageStore {
 public:
  explicit ImageStore(store::StateStore& db) : db_(db) {}

  // Stores the record and points `tags`/`digests` (canonical refs) at it.
  absl::Status put(const ImageRecord& record, const std::vector<std::string>& tags,
                   const std::vector<std::string>& digests);

  // dockerd's lookup order: a reference naming a tag or digest, then a full
  // id ("sha256:…" or 64 hex), then a unique id prefix. NotFound "No such
  // image: <name>"; InvalidArgument for an ambiguous prefix.
  absl::StatusOr<ImageEntry> resolve(std::string_view name);
  absl::StatusOr<std::optional<ImageEntry>> byId(std::string_view id);
  absl::StatusOr<std::vector<ImageEntry>> list();

  // Points canonical `ref` (tag) at `id`; replaces an earlier target.
  absl::Status tag(std::string_view id, std::string_view ref);
  absl::Status untag(std::string_view ref);
  absl::Status remove(std::string_view id);

 private:
  store::StateStore& db_;
};

// "docker.io/library/busybox:latest" → "busybox:latest", as RepoTags show.
std::string familiarRef(std::string_view canonical);

}  // namespace berth::image
