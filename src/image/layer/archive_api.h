#pragma once
// libarchive, loaded while a layer, an image archive or a copy uses it and
// closed a second after (util/lazy_library.h says why): it brings libxml2,
// ICU, nettle and the compressors, ~2 MB an idle daemon need not keep.
#include <archive.h>
#include <archive_entry.h>

#include "absl/status/statusor.h"
#include "util/lazy_library.h"

namespace berth::layer {

#define BERTH_ARCHIVE_SYMBOLS(X)          \
  X(archive_read_new)                     \
  X(archive_read_support_format_tar)      \
  X(archive_read_support_filter_none)     \
  X(archive_read_open)                    \
  X(archive_read_next_header)             \
  X(archive_read_data_block)              \
  X(archive_read_free)                    \
  X(archive_write_new)                    \
  X(archive_write_set_format_pax_restricted) \
  X(archive_write_set_bytes_per_block)    \
  X(archive_write_open)                   \
  X(archive_write_header)                 \
  X(archive_write_data)                   \
  X(archive_write_free)                   \
  X(archive_error_string)                 \
  X(archive_entry_new)                    \
  X(archive_entry_free)                   \
  X(archive_entry_clear)                  \
  X(archive_entry_pathname)               \
  X(archive_entry_set_pathname)           \
  X(archive_entry_filetype)               \
  X(archive_entry_set_filetype)           \
  X(archive_entry_perm)                   \
  X(archive_entry_set_perm)               \
  X(archive_entry_uid)                    \
  X(archive_entry_set_uid)                \
  X(archive_entry_gid)                    \
  X(archive_entry_set_gid)                \
  X(archive_entry_size)                   \
  X(archive_entry_set_size)               \
  X(archive_entry_mtime)                  \
  X(archive_entry_mtime_nsec)             \
  X(archive_entry_set_mtime)              \
  X(archive_entry_symlink)                \
  X(archive_entry_set_symlink)            \
  X(archive_entry_hardlink)               \
  X(archive_entry_set_hardlink)           \
  X(archive_entry_rdevmajor)              \
  X(archive_entry_rdevminor)              \
  X(archive_entry_xattr_reset)            \
  X(archive_entry_xattr_next)             \
  X(archive_entry_xattr_add_entry)

struct ArchiveApi {
  BERTH_ARCHIVE_SYMBOLS(BERTH_LAZY_FIELD)
};

// Reopening costs about a millisecond.
inline constexpr std::chrono::milliseconds kArchiveLinger{1000};

absl::StatusOr<LibraryLease<ArchiveApi>> archiveApi();

}  // namespace berth::layer
