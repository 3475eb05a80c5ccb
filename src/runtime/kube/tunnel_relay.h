#pragma once
// Relays a Docker socket connection across a pods/portforward tunnel (the
// pod's broker, helper/docker_socket.h, at one end; Berth's SocketRelays at
// the other). A v4 port-forward stream cannot half-close: the kubelet ends
// the whole stream when either side stops sending. Docker clients half-close
// (the CLI closes its write side right after an attach's hijack, and stdin's
// end reaches a process that way), so what the pod's client sends crosses in
// stdin_frames.h's frames and its EOF is the end frame; Berth unpacks them and
// turns the end frame into shutdown(SHUT_WR) of its API connection. Berth's
// answers cross as they are; its closing ends the tunnel. Header-only and
// libc-only (the helper is built lean); sends never raise SIGPIPE.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>

#include "runtime/kube/stdin_frames.h"

namespace berth::runtime::kube {

inline bool sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t w = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data.remove_prefix(size_t(w));
  }
  return true;
}

// `plain` is the client's connection (in the pod) when `podSide`, else
// Berth's API connection; `tunnel` is the port-forwarded one. Returns when
// the exchange is over; the caller closes both.
inline void relayTunnel(int plain, int tunnel, bool podSide) {
  char buf[64 * 1024];
  std::string frames;  // Berth's side: a frame not yet whole
  bool plainOpen = true;
  for (;;) {
    pollfd p[2] = {{tunnel, POLLIN, 0}, {plain, POLLIN, 0}};
    if (::poll(p, plainOpen ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (plainOpen && p[1].revents != 0) {
      ssize_t r = ::read(plain, buf, sizeof buf);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {
        if (!podSide) return;  // Berth has answered and closed: the tunnel goes
        plainOpen = false;
        if (!sendAll(tunnel, stdinFrame(""))) return;
      } else if (!sendAll(tunnel, podSide ? stdinFrame(std::string_view(buf, size_t(r))) : std::string_view(buf, size_t(r)))) {
        return;
      }
    }
    if (p[0].revents != 0) {
      ssize_t r = ::read(tunnel, buf, sizeof buf);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) return;  // the tunnel ended: so has the exchange
      if (podSide) {
        if (!sendAll(plain, std::string_view(buf, size_t(r)))) return;
        continue;
      }
      frames.append(buf, size_t(r));
      bool ok = true;
      bool ended = takeStdinFrames(frames, [&](std::string_view data) { ok = ok && sendAll(plain, data); });
      if (!ok) return;
      if (ended) ::shutdown(plain, SHUT_WR);  // the client's half-close, passed on
    }
  }
}

}  // namespace berth::runtime::kube
