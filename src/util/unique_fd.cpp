#include "util/unique_fd.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

#include "util/status.h"

namespace berth {

absl::Status writeAll(int fd, std::string_view data) {
  bool socket = true;  // until told otherwise: a socket's closed peer is EPIPE here, never a SIGPIPE for the daemon
  while (!data.empty()) {
    ssize_t n = socket ? ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) : ::write(fd, data.data(), data.size());
    if (n < 0 && errno == ENOTSOCK) {
      socket = false;
      continue;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoStatus(errno, "write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

std::string readFileOrEmpty(const std::string& path) {
  std::string out;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, size_t(n));
  }
  return out;
}

}  // namespace berth
