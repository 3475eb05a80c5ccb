#pragma once
// Streaming decompression of layer blobs (gzip, possibly multi-member, and
// zstd; "none" passes bytes through). Input is pulled from a source
// function so a layer is never held in memory whole.
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "oci/manifest.h"

namespace berth::layer {

// Fills `buf` with up to `cap` bytes; 0 at end of input.
using Source = std::function<absl::StatusOr<size_t>(char* buf, size_t cap)>;

class Decompressor {
 public:
  virtual ~Decompressor() = default;
  // Up to `cap` decompressed bytes into `out`; 0 at the end of the stream.
  // DataLoss for corrupt or truncated input.
  virtual absl::StatusOr<size_t> read(char* out, size_t cap) = 0;
};

std::unique_ptr<Decompressor> makeDecompressor(oci::Compression compression, Source source);

// Reads `fd` from its current offset on; read errors name `what`.
Source fdSource(int fd, std::string what);

// The compression a stream starts with, from its magic bytes (for archives
// whose layers carry no media type: docker save, import).
oci::Compression sniffCompression(std::string_view head);
// The same for the first bytes of a file (read with pread: the offset stays).
oci::Compression sniffFile(int fd);

}  // namespace berth::layer
