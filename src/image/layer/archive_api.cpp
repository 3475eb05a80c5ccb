#include "image/layer/archive_api.h"

namespace berth::layer {

absl::StatusOr<LibraryLease<ArchiveApi>> archiveApi() {
  return leaseLibrary<ArchiveApi>("libarchive.so.13", "libarchive13", kArchiveLinger, [](LazyResolver& r, ArchiveApi& a) {
    BERTH_ARCHIVE_SYMBOLS(BERTH_LAZY_RESOLVE)
  });
}

}  // namespace berth::layer
