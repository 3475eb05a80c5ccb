#pragma once
#include <chrono>
#include <string>
#include <vector>

#include "api/server/listen_address.h"

namespace berth::api::server {

struct TlsOptions {
  bool enabled = false;  // --tls (implied by verify)
  bool verify = false;   // --tlsverify: require a client certificate from caFile
  std::string caFile, certFile, keyFile;
};

struct ServerOptions {
  std::vector<ListenAddress> listen;
  TlsOptions tls;
  bool insecureTcp = false;     // allow plain TCP on non-loopback addresses
  std::string socketGroup;      // group owning unix sockets; empty: the daemon's
  std::chrono::seconds readTimeout{60};
  std::chrono::seconds shutdownTimeout{15};
  int ioThreads = 0;            // 0: one per CPU, at least 2
  int blockingThreads = 8;      // pool for database, /proc and engine calls (container starts block ~ms)
  std::string serverVersion;    // for the Server header
};

}  // namespace berth::api::server
