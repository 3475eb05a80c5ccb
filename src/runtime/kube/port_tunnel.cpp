#include "runtime/kube/port_tunnel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include "runtime/kube/pod_stream.h"
#include "util/host_sockets.h"
#include "util/log.h"
#include "util/strings.h"

namespace berth::runtime::kube {

absl::StatusOr<UniqueFd> PortTunnels::open(const std::string& pod, uint16_t port) {
  {
    std::lock_guard lock(mu_);
    if (closing_) return absl::UnavailableError("shutting down");
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return absl::InternalError(strCat("socketpair: ", std::strerror(errno)));
  }
  UniqueFd near(sv[0]), far(sv[1]);
  tracker_.add();
  std::thread([this, pod, port, far = std::move(far)]() mutable {
    serve(pod, port, std::move(far));
    tracker_.done();
  }).detach();
  return near;
}

void PortTunnels::serve(const std::string& pod, uint16_t port, UniqueFd far) {
  StreamRequest req;
  req.pod = pod;
  req.forwardPort = port;
  absl::StatusOr<std::unique_ptr<PodStream>> stream = PodStream::open(client_, req);
  if (!stream.ok()) {
    log::debug("port forward: could not open the stream",
               {{"pod", pod}, {"port", strCat(port)}, {"error", std::string(stream.status().message())}});
    return;  // closing `far` closes the client's connection
  }
  PodStream* s = stream->get();
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    live_.insert(s);
  }
  // The client's bytes go up from here; its EOF ends the stream (v4 has no
  // half-close), after what it sent is out.
  std::thread up([s, fd = far.get()] {
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      s->write(std::string_view(buf, size_t(n)));
    }
    s->finish();
  });
  absl::StatusOr<int> result = s->run([fd = far.get()](int, std::string_view data) { (void)writeAll(fd, data); });
  if (!result.ok() && result.status().code() != absl::StatusCode::kCancelled) {
    log::debug("port forward: stream ended", {{"pod", pod}, {"port", strCat(port)},
                                              {"error", std::string(result.status().message())}});
  }
  ::shutdown(far.get(), SHUT_RDWR);  // ends the reader, and the client's connection
  up.join();
  std::lock_guard lock(mu_);
  live_.erase(s);
}

void PortTunnels::closeAll() {
  std::lock_guard lock(mu_);
  closing_ = true;
  for (PodStream* s : live_) s->cancel();
}

absl::StatusOr<UniqueFd> connectStarted(const std::string& ipv4, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, ipv4.c_str(), &addr.sin_addr) != 1) {
    return absl::UnavailableError(strCat("the container has no address yet: '", ipv4, "'"));
  }
  UniqueFd fd;
  if (hostSocketsFromParent()) {  // a rootless daemon reaches the pod network through the host's
    absl::StatusOr<UniqueFd> s = hostSocket(AF_INET, SOCK_STREAM, 0);
    if (!s.ok()) return s.status();
    fd = std::move(*s);
  } else {
    fd = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  }
  if (!fd.valid()) return absl::InternalError(strCat("socket: ", std::strerror(errno)));
  int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    return absl::UnavailableError(strCat("connect to ", ipv4, ":", port, ": ", std::strerror(errno)));
  }
  return fd;
}

}  // namespace berth::runtime::kube
