#include "runtime/kube/helper/docker_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <vector>

#include "runtime/kube/tunnel_relay.h"

namespace berth::kubehelper {
namespace {

int complain(const char* what) {
  std::fprintf(stderr, "berth-kubehelper: docker socket: %s: %s\n", what, std::strerror(errno));
  return 1;
}

}  // namespace

int dockerSocket(const char* path, int port) {
  ::signal(SIGCHLD, SIG_IGN);  // relays reap themselves
  ::signal(SIGPIPE, SIG_IGN);
  sockaddr_un ua{};
  ua.sun_family = AF_UNIX;
  if (std::strlen(path) >= sizeof ua.sun_path) return complain("path too long");
  std::strcpy(ua.sun_path, path);
  ::unlink(path);
  int clients = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (clients < 0 || ::bind(clients, reinterpret_cast<sockaddr*>(&ua), sizeof ua) != 0) return complain(path);
  ::chmod(path, 0666);  // whatever user the container's process runs as
  sockaddr_in ta{};
  ta.sin_family = AF_INET;
  ta.sin_port = htons(static_cast<uint16_t>(port));
  ta.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int berth = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(berth, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (berth < 0 || ::bind(berth, reinterpret_cast<sockaddr*>(&ta), sizeof ta) != 0) return complain("tunnel port");
  if (::listen(clients, 128) != 0 || ::listen(berth, 16) != 0) return complain("listen");

  int control = -1;
  std::deque<int> waiting;  // clients, oldest first
  std::vector<int> fresh;   // Berth's connections before their first byte
  auto ask = [&control](size_t n) {
    for (size_t i = 0; i < n && control >= 0; ++i) {
      if (::write(control, "N", 1) != 1) {
        ::close(control);
        control = -1;
      }
    }
  };
  for (;;) {
    std::vector<pollfd> p = {{clients, POLLIN, 0}, {berth, POLLIN, 0}};
    if (control >= 0) p.push_back({control, POLLIN, 0});
    for (int f : fresh) p.push_back({f, POLLIN, 0});
    if (::poll(p.data(), p.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return complain("poll");
    }
    if (p[0].revents != 0) {
      int c = ::accept4(clients, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        waiting.push_back(c);
        ask(1);
      }
    }
    std::vector<int> still;  // the fresh connections after this round
    if (p[1].revents != 0) {
      int f = ::accept4(berth, nullptr, nullptr, SOCK_CLOEXEC);
      if (f >= 0) still.push_back(f);  // polled from the next round on
    }
    size_t next = 2;
    if (control >= 0) {
      if (p[next].revents != 0) {  // Berth went away (it sends nothing else): clients wait for the next one
        char b;
        if (::read(control, &b, 1) <= 0) {
          ::close(control);
          control = -1;
        }
      }
      ++next;
    }
    for (size_t i = next; i < p.size(); ++i) {
      int f = p[i].fd;
      if (p[i].revents == 0) {
        still.push_back(f);
        continue;
      }
      char kind = 0;
      if (::read(f, &kind, 1) != 1) {
        ::close(f);
      } else if (kind == 'C') {
        if (control >= 0) ::close(control);
        control = f;
        ask(waiting.size());
      } else if (kind == 'D' && !waiting.empty()) {
        int c = waiting.front();
        waiting.pop_front();
        pid_t pid = ::fork();
        if (pid == 0) {  // holds only its pair, so every other connection ends when the broker lets go
          ::close(clients);
          ::close(berth);
          if (control >= 0) ::close(control);
          for (int w : waiting) ::close(w);
          for (size_t j = next; j < p.size(); ++j) {
            if (p[j].fd != f) ::close(p[j].fd);
          }
          for (int s : still) ::close(s);
          berth::runtime::kube::relayTunnel(c, f, true);
          _exit(0);
        }
        ::close(c);
        ::close(f);
      } else {
        ::close(f);  // a data connection nobody waits for any more
      }
    }
    fresh = std::move(still);
  }
}

}  // namespace berth::kubehelper
