#include "image/layer/archive_api.h"

namespace berth::layer {

absl::StatusOr<const ArchiveApi*> archiveApi() {
  return loadLazy<ArchiveApi>("libarchive.so.13", "libarchive13", [](LazyResolver& r, ArchiveApi& a) {
    BERTH_ARCHIVE_SYMBOLS(BERTH_LAZY_RESOLVE)
  });
}

}  // namespace berth::layer
