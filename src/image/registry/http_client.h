#pragma once
// A small blocking HTTP client over libcurl for registry and token requests.
// Handles are pooled so connections (and TLS sessions) are reused across
// requests; perform() is thread-safe and may run on many threads at once.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::registry {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent for POST/PUT/PATCH unless uploadFd is set
  int uploadFd = -1;                 // streamed from here (pread from 0) when >= 0
  int64_t uploadSize = 0;
  bool followRedirects = true;
  std::string basicUser, basicPassword;  // Basic auth when basicUser is set
  // TLS material in PEM (empty: the system's CAs, no client certificate);
  // for the Kubernetes API, whose kubeconfig carries them inline.
  std::string caPem, clientCertPem, clientKeyPem;
  bool insecureSkipVerify = false;
  // A transfer that moves nothing for this long is dead; 0: never (a watch
  // that waits for events, which bounds itself with timeoutSeconds).
  long idleSeconds = 60;
};

struct HttpResponse {
  long status = 0;
  std::string url;                                  // after redirects
  std::map<std::string, std::string> headers;       // lower-case names of the final response
  std::vector<std::string> wwwAuthenticate;         // every WWW-Authenticate of the final response
  std::string body;                                 // unless streamed to a sink
};

// Receives the body of a 2xx response piece by piece, with the response's
// status (200 or 206 for a range); an error aborts the transfer and becomes
// perform()'s result.
using BodySink = std::function<absl::Status(long status, std::string_view data)>;

class HttpClient {
 public:
  // Where transfers run: in the HTTP helper once the daemon has configured
  // it (http_helper.h; libcurl is then never loaded here), or always here.
  enum class Where { kHelperWhenConfigured, kInProcess };
  static absl::StatusOr<std::unique_ptr<HttpClient>> create(std::string userAgent,
                                                            Where where = Where::kHelperWhenConfigured);
  ~HttpClient();

  // Unavailable for connection-level failures (retryable), Cancelled when
  // `cancel` became true, ResourceExhausted when a collected body passes
  // `bodyLimit`. A non-2xx status is not an error here.
  absl::StatusOr<HttpResponse> perform(const HttpRequest& req, const BodySink* sink = nullptr,
                                       size_t bodyLimit = 4 << 20, const std::atomic<bool>* cancel = nullptr);

 private:
  HttpClient(std::string userAgent, bool remote) : userAgent_(std::move(userAgent)), remote_(remote) {}
  void* acquire();
  void release(void* handle);

  const std::string userAgent_;
  const bool remote_;  // transfers go to the HTTP helper
  std::mutex mu_;
  std::vector<void*> idle_;  // guarded by mu_
};

// How a failed request's error starts, as dockerd (Go) words it:
// `Get "https://…": `.
std::string requestErrorPrefix(const HttpRequest& req);

}  // namespace berth::registry
