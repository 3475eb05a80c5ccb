#pragma once
// Writing the container log (runtime/log_record.h): whole lines become
// records, a line's bytes wait for its newline up to kMaxLine, and the
// file rotates by size when asked. Header-only and libc-only, for the two
// small static programs that write logs: the local monitor and the kube
// backend's in-pod helper.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "runtime/log_record.h"

namespace berth::runtime::logfmt {

inline bool writeAll(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= size_t(w);
  }
  return true;
}

inline uint64_t nowNanos() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// The log: records appended in batches, rotated by size when asked. Paths
// are relative to the working directory unless `base` is absolute.
class LogWriter {
 public:
  LogWriter(long long maxSize, int maxFiles, std::string base = kLogFile)
      : maxSize_(maxSize), maxFiles_(maxFiles < 1 ? 1 : maxFiles), base_(std::move(base)) {}
  bool open() {
    fd_ = ::open(base_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0) return false;
    struct stat st {};
    size_ = fstat(fd_, &st) == 0 ? st.st_size : 0;
    return true;
  }
  void add(uint8_t stream, const char* data, size_t n, bool partial, uint64_t t) {
    long long recordSize = (long long)(sizeof(RecordHeader) + n);
    if (maxSize_ > 0 && size_ + (long long)pending_.size() > 0 &&
        size_ + (long long)pending_.size() + recordSize > maxSize_) {
      // This record would pass max-size: what is pending fills the file, then rotate.
      writePending();
      rotate();
    }
    RecordHeader h{t, uint32_t(n), stream, uint8_t(partial ? 1 : 0), kMagic};
    pending_.append(reinterpret_cast<const char*>(&h), sizeof h);
    pending_.append(data, n);
  }
  void flush() { writePending(); }

 private:
  void writePending() {
    if (pending_.empty()) return;
    if (fd_ >= 0 && writeAll(fd_, pending_.data(), pending_.size())) size_ += (long long)pending_.size();
    pending_.clear();
  }

  void rotate() {
    ::close(fd_);
    if (maxFiles_ <= 1) {
      ::unlink(base_.c_str());
    } else {
      for (int i = maxFiles_ - 1; i >= 1; --i) {
        std::string from = i == 1 ? base_ : base_ + "." + std::to_string(i - 1);
        std::string to = base_ + "." + std::to_string(i);
        ::rename(from.c_str(), to.c_str());
      }
    }
    fd_ = ::open(base_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    size_ = 0;
  }
  long long maxSize_;
  int maxFiles_;
  std::string base_;
  int fd_ = -1;
  long long size_ = 0;
  std::string pending_;
};

// One output stream's line assembly: bytes in, records out to a LogWriter.
class LineSplitter {
 public:
  explicit LineSplitter(uint8_t stream = kStdout) : stream_(stream) {}
  uint8_t stream() const { return stream_; }

  // Whole lines become records; the rest waits for its newline, up to kMaxLine.
  void feed(LogWriter& log, const char* data, size_t n, uint64_t t) {
    const char* p = data;
    const char* end = data + n;
    while (p < end) {
      const char* nl = static_cast<const char*>(memchr(p, '\n', size_t(end - p)));
      if (nl == nullptr) {
        partial_.append(p, size_t(end - p));
        if (partial_.size() >= kMaxLine) flush(log, t);
        break;
      }
      size_t len = size_t(nl + 1 - p);
      if (partial_.empty()) {
        log.add(stream_, p, len, false, t);
      } else {
        partial_.append(p, len);
        log.add(stream_, partial_.data(), partial_.size(), false, t);
        partial_.clear();
      }
      p = nl + 1;
    }
  }
  // The bytes of an unfinished line, as a partial record (at EOF, or at kMaxLine).
  void flush(LogWriter& log, uint64_t t) {
    if (partial_.empty()) return;
    log.add(stream_, partial_.data(), partial_.size(), true, t);
    partial_.clear();
  }

 private:
  uint8_t stream_;
  std::string partial_;
};

}  // namespace berth::runtime::logfmt
