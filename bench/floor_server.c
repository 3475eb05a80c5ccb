// floor_server: the least a server can do per request, as a yardstick for
// api_bench.sh. It answers every request on a unix socket with a canned
// 200 "OK" (the /_ping response), reading and writing with one syscall each
// from one epoll loop. Like Berth's io threads it polls for 50 us before it
// sleeps. Whatever this reaches with the same load generator on the same
// machine bounds what any server could reach there.
//
// Usage: floor_server SOCKET_PATH   (runs until killed)
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char kResponse[] =
    "HTTP/1.1 200 OK\r\nApi-Version: 1.51\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 2\r\n\r\nOK";

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc != 2 || strlen(argv[1]) >= sizeof(((struct sockaddr_un*)0)->sun_path)) {
    fprintf(stderr, "usage: floor_server SOCKET_PATH\n");
    return 2;
  }
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strcpy(addr.sun_path, argv[1]);
  unlink(argv[1]);
  if (listener < 0 || bind(listener, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(listener, 1024) != 0) {
    perror("floor_server: listen");
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = listener};
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  char buf[16384];
  long long idle_since = 0;
  for (;;) {
    struct epoll_event events[64];
    int n = epoll_wait(ep, events, 64, 0);
    if (n == 0) {
      if (idle_since == 0) idle_since = now_ns();
      if (now_ns() - idle_since < 50000) continue;  // poll a while before sleeping
      n = epoll_wait(ep, events, 64, -1);
    }
    idle_since = 0;
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        int c = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) continue;
        struct epoll_event e = {.events = EPOLLIN, .data.fd = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
        continue;
      }
      ssize_t got = read(fd, buf, sizeof buf);
      if (got < 0 && errno == EAGAIN) continue;
      // One request per read: the load generator never pipelines.
      if (got <= 0 || write(fd, kResponse, sizeof kResponse - 1) < 0) close(fd);
    }
  }
}
