#pragma once
// Distribution API v2 client: manifests, blobs, uploads, and the auth dance
// (anonymous, Bearer tokens from the challenge's realm, Basic).
//
// Plain HTTP is used only for registries dockerd would treat as insecure:
// loopback hosts and --insecure-registry entries; for those HTTPS is tried
// first and the answer is remembered per host.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "image/registry/auth.h"
#include "image/registry/http_client.h"

namespace berth::registry {

struct RegistryOptions {
  std::vector<std::string> insecureRegistries;  // "host:port", "host" or an IPv4 CIDR
  std::string userAgent = "berth";
};

struct FetchedManifest {
  std::string digest;  // verified: sha256 of body
  std::string mediaType;
  std::string body;
};

// The hostname of docker.io's registry API.
inline constexpr std::string_view kDockerHubRegistry = "registry-1.docker.io";

class RegistryClient;

// One repository seen with one identity. Thread-safe: the layers of a pull
// share it, and with it one token.
class Repository {
 public:
  const std::string& domain() const { return domain_; }
  const std::string& path() const { return path_; }

  // `reference` is a tag or a digest. NotFound, PermissionDenied and
  // Unauthenticated carry the registry's error ("manifest unknown: …").
  // The digest is computed from the body and must match the registry's
  // Docker-Content-Digest and, for a digest reference, the reference.
  absl::StatusOr<FetchedManifest> getManifest(std::string_view reference, const std::atomic<bool>* cancel = nullptr);

  // Streams blob bytes from `offset` on to `sink` (a server that ignores the
  // range is handled: the bytes before `offset` are skipped).
  absl::Status fetchBlob(std::string_view digest, int64_t offset, const std::function<absl::Status(std::string_view)>& sink,
                         const std::atomic<bool>* cancel = nullptr);
  // A small blob (image config) in memory, verified against its digest.
  absl::StatusOr<std::string> fetchSmallBlob(std::string_view digest, size_t limit);

  absl::StatusOr<bool> blobExists(std::string_view digest);
  // Cross-repository mount; false when the registry did not mount (upload instead).
  absl::StatusOr<bool> mountBlob(std::string_view digest, std::string_view fromPath);
  absl::Status uploadBlob(std::string_view digest, int fd, int64_t size, const std::atomic<bool>* cancel = nullptr);
  absl::Status putManifest(std::string_view reference, std::string_view mediaType, std::string_view body);

 private:
  friend class RegistryClient;
  Repository(RegistryClient& client, std::string domain, std::string path, AuthConfig auth, bool push)
      : client_(client), domain_(std::move(domain)), path_(std::move(path)), auth_(std::move(auth)), push_(push) {}

  // Sends with the current credentials; on a 401 answers the challenge and
  // retries once.
  absl::StatusOr<HttpResponse> send(HttpRequest req, const BodySink* sink = nullptr, size_t limit = 4 << 20,
                                    const std::atomic<bool>* cancel = nullptr);
  absl::Status authenticate(const std::vector<std::string>& challenges);
  void decorate(HttpRequest& req);
  absl::StatusOr<std::string> url(std::string_view suffix);

  RegistryClient& client_;
  const std::string domain_, path_;
  const AuthConfig auth_;
  const bool push_;
  std::mutex mu_;
  std::string bearer_;  // guarded by mu_
  bool basic_ = false;  // guarded by mu_
};

class RegistryClient {
 public:
  // FailedPrecondition when libcurl cannot be loaded.
  static absl::StatusOr<std::unique_ptr<RegistryClient>> create(RegistryOptions options);

  std::unique_ptr<Repository> repository(std::string domain, std::string path, AuthConfig auth, bool push);

  // `docker login`: checks the credentials against the registry's /v2/
  // endpoint and whatever challenge it answers with. Unauthenticated when refused.
  absl::Status login(std::string_view domain, const AuthConfig& auth);

  // True for loopback hosts and --insecure-registry entries.
  bool allowsPlainHttp(std::string_view domain) const;

  HttpClient& http() { return *http_; }

  // "https://host:port" (or http://) for a reference domain; docker.io maps
  // to registry-1.docker.io.
  absl::StatusOr<std::string> baseUrl(std::string_view domain);

 private:
  RegistryClient(RegistryOptions options, std::unique_ptr<HttpClient> http)
      : options_(std::move(options)), http_(std::move(http)) {}

  const RegistryOptions options_;
  std::unique_ptr<HttpClient> http_;
  std::mutex mu_;
  std::map<std::string, std::string, std::less<>> schemes_;  // guarded by mu_
};

// dockerd's text for a registry error body: "manifest unknown: manifest
// unknown" (code lower-cased with spaces, then the message); the HTTP status
// text when the body has no errors array.
std::string registryErrorText(const HttpResponse& resp);

}  // namespace berth::registry
