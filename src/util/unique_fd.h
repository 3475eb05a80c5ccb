#pragma once
#include <unistd.h>

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"

namespace berth {

// Writes all of `data` to `fd`, retrying short writes and EINTR.
// Writes all of `data`; to a socket whose peer has gone it fails with EPIPE
// rather than raising SIGPIPE (which would end the daemon).
absl::Status writeAll(int fd, std::string_view data);

// The whole content of a small file (/proc, /sys, configuration); empty
// when it cannot be read.
std::string readFileOrEmpty(const std::string& path);

// Owns a file descriptor; closes it on destruction (crun's cleanup_close, typed).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace berth
