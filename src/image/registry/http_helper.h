#pragma once
// Registry HTTP in a helper process, `berth __http-helper`, so the daemon
// never maps libcurl and what it brings (OpenSSL's shared libraries, which
// pin themselves, gnutls, krb5, ldap: ~8.5 MB that stayed resident after
// the first pull; docs/design/memory.md).
//
// The daemon starts the helper on the first request and stops it after it
// has been idle for a while; a helper that died is started again. Each
// request gets its own socketpair, whose far end (and an upload's fd) go to
// the helper over a control socket (SCM_RIGHTS); http_wire.h has what flows
// on it. The helper runs each request on its own thread with one pooled
// in-process HttpClient, so connections are still reused.
//
// A rootless daemon's helper asks the daemon for host sockets over a second
// channel, and the daemon asks its own parent (util/host_sockets.h).
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "image/registry/http_client.h"
#include "util/unique_fd.h"

namespace berth::registry {

class HttpHelper {
 public:
  // The process-wide helper; performRemote() uses it once configured.
  static HttpHelper& instance();

  // `binary` is run as `<binary> __http-helper`; the daemon passes
  // /proc/self/exe. Until this is called, HttpClient runs curl in-process.
  void configure(std::string binary, std::chrono::milliseconds idle);
  bool configured() const { return configured_.load(); }
  // Stops the helper now (daemon shutdown); a later request starts it again.
  void stop();

  // HttpClient::perform, in the helper; `userAgent` is the client's.
  absl::StatusOr<HttpResponse> perform(const HttpRequest& req, const std::string& userAgent, const BodySink* sink,
                                       size_t bodyLimit, const std::atomic<bool>* cancel);

  // The running helper's pid, 0 if none (for tests).
  pid_t pid();

 private:
  HttpHelper() = default;
  // Hands `far` (and `upload`) to a running helper, starting one if needed.
  absl::Status dispatch(UniqueFd far, int upload);
  absl::Status startLocked();
  void stopLocked();
  void reaperLoop();

  std::atomic<bool> configured_{false};
  std::string binary_;
  std::chrono::milliseconds idle_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  pid_t pid_ = 0;             // guarded by mu_
  UniqueFd control_;          // guarded by mu_
  int active_ = 0;            // requests in flight, guarded by mu_
  std::chrono::steady_clock::time_point lastUse_;  // guarded by mu_
  std::thread reaper_;        // stops an idle helper
  std::thread socketServer_;  // rootless: serves the helper's host-socket requests
  bool shuttingDown_ = false;  // guarded by mu_
};

// The helper's main: `control` receives request sockets, `hostSockets` (or
// -1) is the channel for host sockets. Returns when the daemon closes
// `control` and the requests in flight have finished.
int httpHelperMain(int control, int hostSockets);

}  // namespace berth::registry
