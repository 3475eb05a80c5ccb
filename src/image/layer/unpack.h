#pragma once
// Unpacks one layer (a tar stream, possibly compressed) into an empty
// directory, in the form overlayfs reads as a lower layer:
//
// - `.wh.<name>` becomes a 0/0 character device <name> (an overlay whiteout);
//   `.wh..wh..opq` marks its directory opaque with the overlay xattr
//   (trusted.overlay.opaque as root, user.overlay.opaque for a rootless
//   daemon whose overlay mounts use `userxattr`).
// - Every entry is created relative to the target's fd with openat2
//   RESOLVE_IN_ROOT: absolute names, `..` and symlinked parents stay inside.
//   A name or hardlink target that escapes the root lexically is refused, as
//   dockerd does; so are a bare `.wh.` and hardlinks to missing targets.
// - Device nodes are skipped (containers get their own /dev).
// - The uncompressed stream is hashed: the result is the layer's diff id.
//
// On error the directory holds a partial tree; the caller discards it.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <sys/types.h>

#include "absl/status/statusor.h"
#include "image/layer/decompress.h"

namespace berth::layer {

enum class OverlayXattrs { Trusted, User };

struct UnpackOptions {
  OverlayXattrs xattrs = OverlayXattrs::Trusted;
  // Apply the archive's owners (root). When false, ownership stays the
  // daemon's (an unprivileged daemon cannot chown).
  bool chown = true;
  // Layers: ".wh." names and 0/0 character devices are overlay whiteouts.
  // docker cp turns this off: they are ordinary names there.
  bool whiteouts = true;
  // docker cp's noOverwriteDirNonDir: a directory never replaces a
  // non-directory or the other way round (InvalidArgument instead).
  bool noOverwriteDirNonDir = false;
  // docker cp's copyUIDGID: every entry gets this owner instead of the archive's.
  std::optional<std::pair<uid_t, gid_t>> owner;
  // Caps against decompression bombs and inode floods.
  int64_t maxBytes = int64_t(64) << 30;
  int64_t maxEntries = 4'000'000;
};

struct UnpackResult {
  std::string diffId;  // "sha256:…" of the uncompressed tar stream
  int64_t size = 0;    // bytes of file content written
  int64_t entries = 0;
  int64_t skipped = 0; // device nodes and foreign whiteout markers
};

absl::StatusOr<UnpackResult> unpackLayer(Source source, oci::Compression compression, int targetDirFd,
                                         const UnpackOptions& options);

// Lexically cleans a tar member name: strips leading "/" and "./", removes
// "." components, folds "..". nullopt when it escapes the root; "" for the
// root itself.
std::optional<std::string> cleanMemberName(std::string_view name);

}  // namespace berth::layer
