#include "api/server/listen_address.h"

#include <arpa/inet.h>

#include "util/strings.h"
#include "util/strings.h"
#include "util/strings.h"

namespace berth::api::server {

std::string ListenAddress::toString() const {
  switch (kind) {
    case Kind::Unix: return strCat("unix://", path);
    case Kind::Tcp:
      return host.find(':') != std::string::npos ? strCat("tcp://[", host, "]:", port)
                                                 : strCat("tcp://", host, ":", port);
    case Kind::Fd: return fd ? strCat("fd://", *fd) : "fd://";
  }
  return "";
}

absl::StatusOr<ListenAddress> parseListenAddress(std::string_view text, bool tls) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(strCat("invalid listen address \"", text, "\": ", why));
  };
  ListenAddress a;
  std::string_view rest = text;
  if (consumePrefix(rest, "unix://")) {
    if (rest.empty() || rest.front() != '/') return bad("unix socket path must be absolute");
    a.kind = ListenAddress::Kind::Unix;
    a.path = std::string(rest);
    return a;
  }
  if (consumePrefix(rest, "fd://")) {
    a.kind = ListenAddress::Kind::Fd;
    if (!rest.empty()) {
      int fd = 0;
      if (!parseInt(rest, fd) || fd < 3) return bad("fd must be a number of 3 or more");
      a.fd = fd;
    }
    return a;
  }
  if (!consumePrefix(rest, "tcp://")) return bad("want unix://, tcp:// or fd://");
  a.kind = ListenAddress::Kind::Tcp;
  std::string_view portText;
  if (consumePrefix(rest, "[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    a.host = std::string(rest.substr(0, close));
    rest.remove_prefix(close + 1);
    if (!rest.empty() && !consumePrefix(rest, ":")) return bad("unexpected text after ']'");
    portText = rest;
  } else {
    size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos && rest.find(':') != colon) return bad("IPv6 addresses need [brackets]");
    a.host = std::string(rest.substr(0, colon));
    portText = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
  }
  consumeSuffix(portText, "/");
  if (portText.empty()) {
    a.port = tls ? 2376 : 2375;
  } else {
    int port = 0;
    if (!parseInt(portText, port) || port < 0 || port > 65535) return bad("invalid port");
    a.port = static_cast<uint16_t>(port);
  }
  if (a.host.empty()) a.host = "0.0.0.0";
  return a;
}

bool isLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  std::string h(host);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

}  // namespace berth::api::server
