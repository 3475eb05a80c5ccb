#include "runtime/local/log_reader.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <vector>

#include "runtime/log_record.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/unique_fd.h"

namespace berth::runtime::local {
namespace {

using logfmt::RecordHeader;

// A read-only view of one file's bytes [from, size): offsets stay the
// file's own. Mapping from where the reader is (rounded down to a page)
// keeps `logs -f` on a large log from mapping it whole at every wake-up.
class Mapping {
 public:
  Mapping(int fd, size_t from, size_t size) : size_(size) {
    base_ = from & ~(size_t(::sysconf(_SC_PAGESIZE)) - 1);
    if (size_ > base_) {
      void* p = ::mmap(nullptr, size_ - base_, PROT_READ, MAP_PRIVATE, fd, off_t(base_));
      data_ = p == MAP_FAILED ? nullptr : static_cast<const char*>(p);
      if (data_ != nullptr) ::madvise(p, size_ - base_, MADV_SEQUENTIAL);
    }
    if (data_ == nullptr) size_ = base_ = 0;
  }
  ~Mapping() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_ - base_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  // The byte at file offset `off` (from <= off < size).
  const char* at(size_t off) const { return data_ + (off - base_); }
  size_t size() const { return size_; }

 private:
  const char* data_ = nullptr;
  size_t base_ = 0;
  size_t size_ = 0;
};

// Walks whole records in [from, size) of a mapping; returns where the first
// incomplete one starts. A record with a wrong magic ends the walk (a torn file).
template <class F>
size_t walk(const Mapping& m, size_t from, F&& onRecord) {
  bool torn = false;
  size_t end = logfmt::walkRecords(m.size(), from, [&](size_t off) { return m.at(off); }, onRecord, &torn);
  return torn ? m.size() : end;
}

class FileLogCursor final : public LogCursor {
 public:
  FileLogCursor(std::string dir, int64_t tail) : dir_(std::move(dir)), tail_(tail) {}

  absl::Status open() {
    // Rotated files, oldest (highest number) first, then the live one.
    for (int i = 64; i >= 1; --i) {
      std::string p = strCat(dir_, "/", logfmt::kLogFile, ".", i);
      if (::access(p.c_str(), F_OK) == 0) pending_.push_back(p);
    }
    pending_.push_back(strCat(dir_, "/", logfmt::kLogFile));
    inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (inotify_.valid()) {
      ::inotify_add_watch(inotify_.get(), dir_.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE);
    }
    if (tail_ >= 0) BERTH_RETURN_IF_ERROR(seekTail());
    return absl::OkStatus();
  }

  absl::Status readAvailable(const std::function<void(const LogEntry&)>& sink) override {
    for (;;) {
      if (!current_.valid()) {
        if (pending_.empty()) return absl::OkStatus();
        if (!openNext()) return absl::OkStatus();  // the live file is not there yet
      }
      struct stat st {};
      if (::fstat(current_.get(), &st) != 0) return absl::InternalError("stat of the log failed");
      if (size_t(st.st_size) > offset_) {
        Mapping m(current_.get(), offset_, size_t(st.st_size));
        offset_ = walk(m, offset_, [&](const RecordHeader& h, size_t off) {
          LogEntry e;
          e.stream = h.stream;
          e.timeNanos = h.timeNanos;
          e.data = std::string_view(m.at(off + sizeof h), h.length);
          e.partial = h.partial != 0;
          sink(e);
        });
      }
      // Done with this file unless it is still the live one.
      if (!pending_.empty()) {
        current_.reset();
        continue;
      }
      struct stat live {};
      std::string livePath = strCat(dir_, "/", logfmt::kLogFile);
      if (::stat(livePath.c_str(), &live) == 0 && (live.st_ino != st.st_ino || live.st_dev != st.st_dev)) {
        // Rotated under us: what we hold is now ".1"; continue with the new live file.
        // Read the rest of the old one first (it is complete: the monitor rotated it).
        if (size_t(st.st_size) > offset_) continue;
        pending_.push_back(livePath);
        current_.reset();
        continue;
      }
      return absl::OkStatus();
    }
  }

  int changeFd() const override { return inotify_.get(); }
  void drainChange() override {
    char buf[4096];
    while (inotify_.valid() && ::read(inotify_.get(), buf, sizeof buf) > 0) {
    }
  }

 private:
  bool openNext() {
    int fd = ::open(pending_.front().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (pending_.size() == 1) return false;  // wait for the live file
      pending_.pop_front();  // a rotated file vanished meanwhile
      return true;
    }
    current_.reset(fd);
    pending_.pop_front();
    offset_ = startOffset_;
    startOffset_ = 0;
    return true;
  }

  // Positions at the start of the tail_-th last line: counts line ends
  // (non-partial records) from the newest file backwards.
  absl::Status seekTail() {
    int64_t need = tail_;
    std::deque<std::string> files(pending_.begin(), pending_.end());
    while (!files.empty()) {
      std::string path = files.back();
      UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      struct stat st {};
      if (!fd.valid() || ::fstat(fd.get(), &st) != 0) {
        files.pop_back();
        continue;
      }
      Mapping m(fd.get(), 0, size_t(st.st_size));
      std::vector<size_t> lineStarts = logfmt::lineStarts(m.size(), [&](size_t off) { return m.at(off); });
      if (int64_t(lineStarts.size()) >= need) {
        // Start in this file, at that line.
        startOffset_ = need == 0 ? size_t(st.st_size) : lineStarts[lineStarts.size() - size_t(need)];
        rebuildFrom(path);
        return absl::OkStatus();
      }
      need -= int64_t(lineStarts.size());
      files.pop_back();
    }
    return absl::OkStatus();  // fewer lines than asked: everything
  }

  // pending_ := the files from `path` on, in order.
  void rebuildFrom(const std::string& path) {
    std::deque<std::string> files;
    for (int i = 64; i >= 1; --i) {
      std::string p = strCat(dir_, "/", logfmt::kLogFile, ".", i);
      if (::access(p.c_str(), F_OK) == 0) files.push_back(p);
    }
    files.push_back(strCat(dir_, "/", logfmt::kLogFile));
    while (!files.empty() && files.front() != path) files.pop_front();
    pending_ = std::move(files);
  }

  std::string dir_;
  int64_t tail_;
  std::deque<std::string> pending_;
  UniqueFd current_;
  size_t offset_ = 0;
  size_t startOffset_ = 0;  // where to begin in the first file opened
  UniqueFd inotify_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LogCursor>> openLogCursor(const std::string& dir, int64_t tail) {
  auto c = std::make_unique<FileLogCursor>(dir, tail);
  BERTH_RETURN_IF_ERROR(c->open());
  return c;
}

}  // namespace berth::runtime::local
