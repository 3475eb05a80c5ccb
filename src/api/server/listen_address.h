#pragma once
// `-H` addresses in dockerd's syntax: unix:///path, tcp://host:port, fd://.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace berth::api::server {

struct ListenAddress {
  enum class Kind { Unix, Tcp, Fd };
  Kind kind = Kind::Unix;
  std::string path;      // Unix
  std::string host;      // Tcp: literal address or "localhost"
  uint16_t port = 0;     // Tcp
  std::optional<int> fd; // Fd: a single activated fd, or every one when empty

  std::string toString() const;
};

// Parses one -H value. A TCP address without a port gets 2375, or 2376 when
// `tls` is on (dockerd's defaults). An empty host means all interfaces.
absl::StatusOr<ListenAddress> parseListenAddress(std::string_view text, bool tls);

// True for 127.0.0.0/8, ::1 and "localhost".
bool isLoopbackHost(std::string_view host);

}  // namespace berth::api::server
