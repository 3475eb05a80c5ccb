#include "util/fd_passing.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "util/status.h"

namespace berth {

absl::Status sendWithFds(int socket, std::span<const char> data, std::span<const int> fds) {
  if (data.empty()) return absl::InvalidArgumentError("an fd message needs at least one byte");
  if (fds.size() > kMaxPassedFds) return absl::InvalidArgumentError("too many fds for one message");
  alignas(cmsghdr) char control[CMSG_SPACE(kMaxPassedFds * sizeof(int))] = {};
  iovec iov{const_cast<char*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
  }
  ssize_t n;
  do n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) return errnoStatus(errno, "sendmsg");
  if (size_t(n) != data.size()) return absl::InternalError("sendmsg: short write of an fd message");
  return absl::OkStatus();
}

absl::StatusOr<size_t> receiveWithFds(int socket, std::span<char> data, std::vector<UniqueFd>& fds) {
  fds.clear();
  // The kernel closes fds that do not fit the control buffer (MSG_CTRUNC).
  alignas(cmsghdr) char control[CMSG_SPACE(kMaxPassedFds * sizeof(int))] = {};
  iovec iov{data.data(), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return errnoStatus(errno, "recvmsg");
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds.emplace_back(fd);
    }
  }
  return size_t(n);
}

}  // namespace berth
