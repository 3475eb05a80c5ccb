#include "util/host_sockets.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <mutex>
#include <span>
#include <vector>
#include <unistd.h>

#include "util/fd_passing.h"
#include "util/status.h"

namespace berth {
namespace {

struct Request {
  int32_t domain, type, protocol;
};

std::mutex& channelMu() {
  static std::mutex mu;
  return mu;
}
int gChannel = -1;  // set once before threads, then read-only

// Only the flags a caller may ask for; never SOCK_NONBLOCK games on the parent side.
constexpr int kTypeMask = ~(SOCK_NONBLOCK | SOCK_CLOEXEC);

}  // namespace

void useHostSocketChannel(UniqueFd channel) {
  if (gChannel >= 0) ::close(gChannel);
  gChannel = channel.release();
}

bool hostSocketsFromParent() { return gChannel >= 0; }

absl::StatusOr<UniqueFd> hostSocket(int domain, int type, int protocol) {
  if (gChannel < 0) {
    UniqueFd fd(::socket(domain, type | SOCK_CLOEXEC, protocol));
    if (!fd.valid()) return errnoStatus(errno, "socket");
    return fd;
  }
  Request req{domain, type, protocol};
  int32_t err = 0;
  std::vector<UniqueFd> fds;
  {
    std::lock_guard lock(channelMu());
    if (::send(gChannel, &req, sizeof req, MSG_NOSIGNAL) != ssize_t(sizeof req)) {
      return errnoStatus(errno, "asking the host side for a socket");
    }
    absl::StatusOr<size_t> n = receiveWithFds(gChannel, std::span(reinterpret_cast<char*>(&err), sizeof err), fds);
    if (!n.ok() || *n != sizeof err) return absl::UnavailableError("the host side of the rootless daemon went away");
  }
  if (err != 0) return errnoStatus(err, "socket (host side)");
  if (fds.size() != 1) return absl::InternalError("the host side sent no socket");
  UniqueFd fd = std::move(fds.front());
  if ((type & SOCK_NONBLOCK) != 0 && ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK) != 0) {
    return errnoStatus(errno, "fcntl");
  }
  return fd;
}

bool serveHostSocketRequest(int channel, SocketSource source) {
  Request req{};
  ssize_t n;
  do n = ::recv(channel, &req, sizeof req, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  int32_t err = 0;
  UniqueFd fd;
  if (n != ssize_t(sizeof req)) {
    err = EINVAL;
  } else if (source == SocketSource::kHere) {
    fd.reset(::socket(req.domain, (req.type & kTypeMask) | SOCK_CLOEXEC, req.protocol));
    if (!fd.valid()) err = errno;
  } else {
    absl::StatusOr<UniqueFd> made = hostSocket(req.domain, req.type & kTypeMask, req.protocol);
    if (made.ok()) {
      fd = std::move(*made);
    } else {
      err = EIO;
    }
  }
  int raw = fd.get();
  std::span<const int> fds = fd.valid() ? std::span<const int>(&raw, 1) : std::span<const int>();
  return sendWithFds(channel, std::span(reinterpret_cast<const char*>(&err), sizeof err), fds).ok();
}

}  // namespace berth
