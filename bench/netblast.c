/* netblast: the TCP load of bench/net_bench.py, static so that it runs in a
 * busybox container, a bare network namespace and on the host alike.
 *   netblast sink PORT            accept forever; read and discard each connection
 *   netblast send HOST PORT MB    send MB MiB, half-close, wait for the peer to close;
 *                                 prints "<bytes> <nanoseconds>"
 *   netblast connect HOST PORT N  N sequential connect + 1-byte echo round trips;
 *                                 prints the median in nanoseconds
 *   netblast echo PORT            accept forever; echo each connection's bytes back */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int listen_on(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {0};
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 64) != 0) {
    perror("listen");
    exit(1);
  }
  return s;
}

static int connect_to(const char *host, int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, host, &a.sin_addr);
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("connect");
    exit(1);
  }
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

static int cmp(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  static char buf[1 << 20];
  if (argc == 3 && (!strcmp(argv[1], "sink") || !strcmp(argv[1], "echo"))) {
    int l = listen_on(atoi(argv[2])), echo = !strcmp(argv[1], "echo");
    for (;;) {
      int c = accept(l, NULL, NULL);
      ssize_t n;
      while ((n = read(c, buf, sizeof buf)) > 0)
        if (echo) write(c, buf, n);
      close(c);
    }
  }
  if (argc == 5 && !strcmp(argv[1], "send")) {
    long long total = atoll(argv[4]) << 20, sent = 0;
    int s = connect_to(argv[2], atoi(argv[3]));
    long long start = now_ns();
    while (sent < total) {
      ssize_t n = write(s, buf, sizeof buf);
      if (n <= 0) return 1;
      sent += n;
    }
    shutdown(s, SHUT_WR);
    while (read(s, buf, sizeof buf) > 0) {
    }
    printf("%lld %lld\n", sent, now_ns() - start);
    return 0;
  }
  if (argc == 5 && !strcmp(argv[1], "connect")) {
    int n = atoi(argv[4]);
    long long *t = calloc(n, sizeof *t);
    for (int i = 0; i < n; i++) {
      long long start = now_ns();
      int s = connect_to(argv[2], atoi(argv[3]));
      char c = 'x';
      if (write(s, &c, 1) != 1 || read(s, &c, 1) != 1) return 1;
      t[i] = now_ns() - start;
      close(s);
    }
    qsort(t, n, sizeof *t, cmp);
    printf("%lld\n", t[n / 2]);
    return 0;
  }
  fprintf(stderr, "usage: see the comment at the top of netblast.c\n");
  return 2;
}
