#pragma once
// File descriptors sent over a unix socket with SCM_RIGHTS, alongside a few
// bytes of message: the rootless host-socket channel and the HTTP helper's
// control socket both speak it.
#include <cstddef>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "util/unique_fd.h"

namespace berth {

// The most fds one message carries; the kernel closes any beyond it on receipt.
inline constexpr size_t kMaxPassedFds = 4;

// Sends `data` (at least one byte: a message of only fds does not arrive)
// and `fds` in one message, retrying EINTR. EPIPE rather than SIGPIPE when
// the peer is gone.
absl::Status sendWithFds(int socket, std::span<const char> data, std::span<const int> fds);

// Receives one message into `data` and its fds (close-on-exec) into `fds`,
// replacing what it held. Returns the bytes received: 0 when the peer closed.
absl::StatusOr<size_t> receiveWithFds(int socket, std::span<char> data, std::vector<UniqueFd>& fds);

}  // namespace berth
