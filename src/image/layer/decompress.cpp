#include "image/layer/decompress.h"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <vector>

#include "util/status.h"
#include "util/strings.h"

namespace berth::layer {
namespace {

constexpr size_t kInputChunk = 256 << 10;

class Plain final : public Decompressor {
 public:
  explicit Plain(Source s) : source_(std::move(s)) {}
  absl::StatusOr<size_t> read(char* out, size_t cap) override { return source_(out, cap); }

 private:
  Source source_;
};

class Gzip final : public Decompressor {
 public:
  explicit Gzip(Source s) : source_(std::move(s)), in_(kInputChunk) {
    // 16+MAX_WBITS: gzip wrapper only.
    ok_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK;
  }
  ~Gzip() override { inflateEnd(&z_); }

  absl::StatusOr<size_t> read(char* out, size_t cap) override {
    if (!ok_) return absl::InternalError("inflateInit2 failed");
    z_.next_out = reinterpret_cast<Bytef*>(out);
    z_.avail_out = uInt(cap);
    while (z_.avail_out == cap && !done_) {
      if (z_.avail_in == 0 && !eof_) {
        absl::StatusOr<size_t> n = source_(in_.data(), in_.size());
        if (!n.ok()) return n.status();
        if (*n == 0) eof_ = true;
        z_.next_in = reinterpret_cast<Bytef*>(in_.data());
        z_.avail_in = uInt(*n);
      }
      if (z_.avail_in == 0 && eof_) {
        if (!memberEnded_) return absl::DataLossError("unexpected EOF in gzip layer");
        done_ = true;
        break;
      }
      if (memberEnded_) {
        // Another gzip member follows (pigz and some tools write several).
        inflateReset(&z_);
        memberEnded_ = false;
      }
      int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        memberEnded_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return absl::DataLossError(strCat("corrupt gzip layer: ", z_.msg ? z_.msg : "inflate failed"));
      }
    }
    return cap - z_.avail_out;
  }

 private:
  Source source_;
  std::vector<char> in_;
  z_stream z_{};
  bool ok_ = false, eof_ = false, done_ = false, memberEnded_ = false;
};

class Zstd final : public Decompressor {
 public:
  explicit Zstd(Source s) : source_(std::move(s)), in_(kInputChunk), ctx_(ZSTD_createDStream()) {
    // Refuse frames that ask for absurd windows (memory exhaustion).
    ZSTD_DCtx_setParameter(ctx_, ZSTD_d_windowLogMax, 27);
  }
  ~Zstd() override { ZSTD_freeDStream(ctx_); }

  absl::StatusOr<size_t> read(char* out, size_t cap) override {
    ZSTD_outBuffer o{out, cap, 0};
    while (o.pos == 0) {
      if (ib_.pos == ib_.size) {
        if (eof_) {
          if (pending_ != 0) return absl::DataLossError("unexpected EOF in zstd layer");
          return 0;
        }
        absl::StatusOr<size_t> n = source_(in_.data(), in_.size());
        if (!n.ok()) return n.status();
        if (*n == 0) {
          eof_ = true;
          continue;
        }
        ib_ = ZSTD_inBuffer{in_.data(), *n, 0};
      }
      size_t rc = ZSTD_decompressStream(ctx_, &o, &ib_);
      if (ZSTD_isError(rc)) return absl::DataLossError(strCat("corrupt zstd layer: ", ZSTD_getErrorName(rc)));
      pending_ = rc;
    }
    return o.pos;
  }

 private:
  Source source_;
  std::vector<char> in_;
  ZSTD_DStream* ctx_;
  ZSTD_inBuffer ib_{nullptr, 0, 0};
  size_t pending_ = 0;
  bool eof_ = false;
};

}  // namespace

std::unique_ptr<Decompressor> makeDecompressor(oci::Compression compression, Source source) {
  switch (compression) {
    case oci::Compression::Gzip: return std::make_unique<Gzip>(std::move(source));
    case oci::Compression::Zstd: return std::make_unique<Zstd>(std::move(source));
    case oci::Compression::None: break;
  }
  return std::make_unique<Plain>(std::move(source));
}

Source fdSource(int fd, std::string what) {
  return [fd, what = std::move(what)](char* buf, size_t cap) -> absl::StatusOr<size_t> {
    ssize_t n;
    do {
      n = ::read(fd, buf, cap);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errnoStatus(errno, strCat("read ", what));
    return size_t(n);
  };
}

oci::Compression sniffFile(int fd) {
  char head[8] = {};
  ssize_t n = ::pread(fd, head, sizeof(head), 0);
  return sniffCompression(std::string_view(head, n > 0 ? size_t(n) : 0));
}

oci::Compression sniffCompression(std::string_view head) {
  if (head.size() >= 2 && uint8_t(head[0]) == 0x1f && uint8_t(head[1]) == 0x8b) return oci::Compression::Gzip;
  if (head.size() >= 4 && head.substr(0, 4) == std::string_view("\x28\xb5\x2f\xfd", 4)) return oci::Compression::Zstd;
  return oci::Compression::None;
}

}  // namespace berth::layer
