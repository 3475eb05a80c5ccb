#include "image/registry/registry_client.h"

#include <arpa/inet.h>

#include <nlohmann/json.hpp>

#include "oci/manifest.h"
#include "util/digest.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::registry {
namespace {

// The host of "host:port" / "[v6]:port".
std::string_view hostOf(std::string_view domain) {
  if (domain.starts_with('[')) {
    size_t end = domain.find(']');
    return end == std::string_view::npos ? domain : domain.substr(1, end - 1);
  }
  return domain.substr(0, domain.find(':'));
}

bool ipv4InCidr(std::string_view host, std::string_view cidr) {
  auto [net, bits] = splitOnce(cidr, '/');
  int prefix = 0;
  if (bits.data() == nullptr || !parseInt(bits, prefix) || prefix < 0 || prefix > 32) return false;
  in_addr a{}, n{};
  if (inet_pton(AF_INET, std::string(host).c_str(), &a) != 1) return false;
  if (inet_pton(AF_INET, std::string(net).c_str(), &n) != 1) return false;
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t(0) << (32 - prefix);
  return (ntohl(a.s_addr) & mask) == (ntohl(n.s_addr) & mask);
}

bool isLoopback(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  return ipv4InCidr(host, "127.0.0.0/8");
}

std::string percentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(char(c));
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool success(long status) { return status >= 200 && status < 300; }

// A non-2xx registry answer as a Status of the matching kind.
absl::Status statusFor(const HttpResponse& resp) {
  std::string text = registryErrorText(resp);
  switch (resp.status) {
    case 401: return absl::UnauthenticatedError(text);
    case 403: return absl::PermissionDeniedError(text);
    case 404: return absl::NotFoundError(text);
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504: return absl::UnavailableError(text);
    default: return absl::UnknownError(text);
  }
}

}  // namespace

std::string registryErrorText(const HttpResponse& resp) {
  nlohmann::json j = nlohmann::json::parse(resp.body, nullptr, false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty()) {
    std::vector<std::string> parts;
    for (const nlohmann::json& e : j["errors"]) {
      if (!e.is_object()) continue;
      std::string code = e.value("code", std::string());
      std::string message = e.value("message", std::string());
      std::string lowered = toLower(code);
      for (char& c : lowered) {
        if (c == '_') c = ' ';
      }
      parts.push_back(lowered.empty() ? message : strCat(lowered, ": ", message));
    }
    if (!parts.empty()) return join(parts, ", ");
  }
  if (resp.status == 401) return "unauthorized: authentication required";
  if (resp.status == 404) return "not found";
  return strCat("unexpected status from registry: ", resp.status);
}

absl::StatusOr<std::unique_ptr<RegistryClient>> RegistryClient::create(RegistryOptions options) {
  absl::StatusOr<std::unique_ptr<HttpClient>> http = HttpClient::create(options.userAgent);
  if (!http.ok()) return http.status();
  return std::unique_ptr<RegistryClient>(new RegistryClient(std::move(options), std::move(*http)));
}

std::unique_ptr<Repository> RegistryClient::repository(std::string domain, std::string path, AuthConfig auth, bool push) {
  return std::unique_ptr<Repository>(new Repository(*this, std::move(domain), std::move(path), std::move(auth), push));
}

bool RegistryClient::allowsPlainHttp(std::string_view domain) const {
  std::string_view host = hostOf(domain);
  if (isLoopback(host)) return true;
  for (const std::string& entry : options_.insecureRegistries) {
    if (entry == domain || entry == host) return true;
    if (entry.find('/') != std::string::npos && ipv4InCidr(host, entry)) return true;
  }
  return false;
}

absl::StatusOr<std::string> RegistryClient::baseUrl(std::string_view domain) {
  std::string_view target = domain == "docker.io" ? kDockerHubRegistry : domain;
  if (!allowsPlainHttp(domain)) return strCat("https://", target);
  {
    std::lock_guard lock(mu_);
    if (auto it = schemes_.find(domain); it != schemes_.end()) return strCat(it->second, "://", target);
  }
  // dockerd's order for an insecure registry: HTTPS, then plain HTTP if the
  // TLS connection itself fails.
  HttpRequest probe;
  probe.url = strCat("https://", target, "/v2/");
  absl::StatusOr<HttpResponse> resp = http_->perform(probe, nullptr, 64 << 10);
  std::string scheme = resp.ok() ? "https" : "http";
  if (!resp.ok()) {
    HttpRequest plain;
    plain.url = strCat("http://", target, "/v2/");
    absl::StatusOr<HttpResponse> p = http_->perform(plain, nullptr, 64 << 10);
    if (!p.ok()) return p.status();
  }
  std::lock_guard lock(mu_);
  schemes_[std::string(domain)] = scheme;
  return strCat(scheme, "://", target);
}

absl::Status RegistryClient::login(std::string_view domain, const AuthConfig& auth) {
  // A repository-less session: /v2/ tells which scheme to use.
  Repository repo(*this, std::string(domain), "", auth, false);
  absl::StatusOr<std::string> base = baseUrl(domain);
  if (!base.ok()) return base.status();
  HttpRequest req;
  req.url = strCat(*base, "/v2/");
  absl::StatusOr<HttpResponse> resp = http_->perform(req, nullptr, 64 << 10);
  if (!resp.ok()) return resp.status();
  if (success(resp->status)) return absl::OkStatus();  // open registry: any credentials do
  if (resp->status != 401) return statusFor(*resp);
  absl::Status st = repo.authenticate(resp->wwwAuthenticate);
  if (!st.ok()) return st;
  HttpRequest again;
  again.url = req.url;
  repo.decorate(again);
  resp = http_->perform(again, nullptr, 64 << 10);
  if (!resp.ok()) return resp.status();
  if (resp->status == 401) {
    return absl::UnauthenticatedError(strCat("login attempt to ", req.url, " failed with status: 401 Unauthorized"));
  }
  if (!success(resp->status)) return statusFor(*resp);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Repository::url(std::string_view suffix) {
  absl::StatusOr<std::string> base = client_.baseUrl(domain_);
  if (!base.ok()) return base.status();
  return strCat(*base, "/v2/", path_, suffix);
}

void Repository::decorate(HttpRequest& req) {
  std::lock_guard lock(mu_);
  if (!bearer_.empty()) {
    req.headers.push_back(strCat("Authorization: Bearer ", bearer_));
  } else if (basic_) {
    req.basicUser = auth_.username;
    req.basicPassword = auth_.password;
  }
}

absl::Status Repository::authenticate(const std::vector<std::string>& headers) {
  std::vector<Challenge> challenges;
  for (const std::string& h : headers) {
    for (Challenge& c : parseChallenges(h)) challenges.push_back(std::move(c));
  }
  for (const Challenge& c : challenges) {
    if (c.scheme == "basic") {
      if (auth_.username.empty()) return absl::UnauthenticatedError("no basic auth credentials");
      std::lock_guard lock(mu_);
      basic_ = true;
      return absl::OkStatus();
    }
    if (c.scheme != "bearer") continue;
    if (!auth_.registryToken.empty()) {
      std::lock_guard lock(mu_);
      bearer_ = auth_.registryToken;
      return absl::OkStatus();
    }
    auto realm = c.params.find("realm");
    if (realm == c.params.end() || realm->second.empty()) return absl::UnauthenticatedError("bearer challenge without realm");
    std::string service = c.params.contains("service") ? c.params.at("service") : "";
    std::string scope = path_.empty() ? "" : strCat("repository:", path_, push_ ? ":pull,push" : ":pull");
    HttpRequest tokenReq;
    absl::StatusOr<HttpResponse> resp;
    if (!auth_.identityToken.empty()) {
      // OAuth2 refresh-token grant, as dockerd does with an identity token.
      tokenReq.method = "POST";
      tokenReq.url = realm->second;
      tokenReq.headers.push_back("Content-Type: application/x-www-form-urlencoded");
      tokenReq.body = strCat("grant_type=refresh_token&client_id=berth&refresh_token=", percentEncode(auth_.identityToken),
                             "&service=", percentEncode(service), scope.empty() ? "" : "&scope=", percentEncode(scope));
    } else {
      tokenReq.url = strCat(realm->second, realm->second.find('?') == std::string::npos ? "?" : "&",
                            "service=", percentEncode(service));
      if (!scope.empty()) tokenReq.url += strCat("&scope=", percentEncode(scope));
      if (!auth_.username.empty()) {
        tokenReq.basicUser = auth_.username;
        tokenReq.basicPassword = auth_.password;
      }
    }
    resp = client_.http().perform(tokenReq, nullptr, 1 << 20);
    if (!resp.ok()) return resp.status();
    if (resp->status == 401 || resp->status == 403) {
      return absl::UnauthenticatedError(strCat("unauthorized: ", registryErrorText(*resp)));
    }
    if (!success(resp->status)) return statusFor(*resp);
    nlohmann::json j = nlohmann::json::parse(resp->body, nullptr, false);
    std::string token;
    if (j.is_object()) {
      token = j.value("token", std::string());
      if (token.empty()) token = j.value("access_token", std::string());
    }
    if (token.empty()) return absl::UnauthenticatedError("token server answered without a token");
    std::lock_guard lock(mu_);
    bearer_ = std::move(token);
    return absl::OkStatus();
  }
  return absl::UnauthenticatedError("unauthorized: registry asked for an unsupported authentication scheme");
}

absl::StatusOr<HttpResponse> Repository::send(HttpRequest req, const BodySink* sink, size_t limit,
                                              const std::atomic<bool>* cancel) {
  HttpRequest first = req;
  decorate(first);
  absl::StatusOr<HttpResponse> resp = client_.http().perform(first, sink, limit, cancel);
  if (!resp.ok() || resp->status != 401) return resp;
  absl::Status st = authenticate(resp->wwwAuthenticate);
  if (!st.ok()) return st;
  decorate(req);
  return client_.http().perform(req, sink, limit, cancel);
}

absl::StatusOr<FetchedManifest> Repository::getManifest(std::string_view reference, const std::atomic<bool>* cancel) {
  HttpRequest req;
  BERTH_ASSIGN_OR_RETURN(req.url, url(strCat("/manifests/", reference)));
  req.headers.push_back(strCat("Accept: ", oci::manifestAcceptHeader()));
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, send(req, nullptr, 4 << 20, cancel));
  if (!success(resp.status)) return statusFor(resp);
  FetchedManifest m;
  m.digest = sha256Digest(resp.body);
  auto header = resp.headers.find("docker-content-digest");
  if (header != resp.headers.end() && header->second.starts_with("sha256:") && header->second != m.digest) {
    return absl::DataLossError(strCat("manifest digest mismatch: registry says ", header->second, ", content is ", m.digest));
  }
  if (reference.starts_with("sha256:") && reference != m.digest) {
    return absl::DataLossError(strCat("manifest verification failed for digest ", reference));
  }
  auto ct = resp.headers.find("content-type");
  if (ct != resp.headers.end()) m.mediaType = std::string(trim(splitOnce(ct->second, ';').first));
  m.body = std::move(resp.body);
  return m;
}

absl::Status Repository::fetchBlob(std::string_view digest, int64_t offset,
                                   const std::function<absl::Status(std::string_view)>& sink,
                                   const std::atomic<bool>* cancel) {
  HttpRequest req;
  BERTH_ASSIGN_OR_RETURN(req.url, url(strCat("/blobs/", digest)));
  if (offset > 0) req.headers.push_back(strCat("Range: bytes=", offset, "-"));
  int64_t skip = -1;  // decided by the first chunk's status
  BodySink wrapped = [&](long status, std::string_view data) -> absl::Status {
    if (skip < 0) skip = (offset > 0 && status == 200) ? offset : 0;
    if (skip > 0) {
      size_t n = std::min<int64_t>(skip, int64_t(data.size()));
      data.remove_prefix(n);
      skip -= int64_t(n);
      if (data.empty()) return absl::OkStatus();
    }
    return sink(data);
  };
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, send(req, &wrapped, 64 << 10, cancel));
  if (!success(resp.status)) return statusFor(resp);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Repository::fetchSmallBlob(std::string_view digest, size_t limit) {
  std::string out;
  absl::Status st = fetchBlob(digest, 0, [&](std::string_view data) {
    if (out.size() + data.size() > limit) return absl::ResourceExhaustedError(strCat("blob ", digest, " is larger than ", limit, " bytes"));
    out.append(data);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  if (sha256Digest(out) != digest) return absl::DataLossError(strCat("blob ", digest, " failed verification: content digest is ", sha256Digest(out)));
  return out;
}

absl::StatusOr<bool> Repository::blobExists(std::string_view digest) {
  HttpRequest req;
  req.method = "HEAD";
  BERTH_ASSIGN_OR_RETURN(req.url, url(strCat("/blobs/", digest)));
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, send(req));
  if (resp.status == 404) return false;
  if (!success(resp.status)) return statusFor(resp);
  return true;
}

absl::StatusOr<bool> Repository::mountBlob(std::string_view digest, std::string_view fromPath) {
  HttpRequest req;
  req.method = "POST";
  BERTH_ASSIGN_OR_RETURN(req.url, url(strCat("/blobs/uploads/?mount=", digest, "&from=", percentEncode(fromPath))));
  req.followRedirects = false;
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, send(req));
  if (resp.status == 201) return true;
  if (resp.status == 202) {
    // Mount refused; the registry opened an upload we do not use.
    auto loc = resp.headers.find("location");
    if (loc != resp.headers.end()) {
      HttpRequest cancelUpload;
      cancelUpload.method = "DELETE";
      BERTH_ASSIGN_OR_RETURN(cancelUpload.url, client_.baseUrl(domain_));
      cancelUpload.url = loc->second.starts_with("http") ? loc->second : cancelUpload.url + loc->second;
      (void)send(cancelUpload);
    }
    return false;
  }
  return statusFor(resp);
}

absl::Status Repository::uploadBlob(std::string_view digest, int fd, int64_t size, const std::atomic<bool>* cancel) {
  HttpRequest start;
  start.method = "POST";
  BERTH_ASSIGN_OR_RETURN(start.url, url("/blobs/uploads/"));
  start.followRedirects = false;
  BERTH_ASSIGN_OR_RETURN(HttpResponse started, send(start));
  if (started.status != 202) return statusFor(started);
  auto loc = started.headers.find("location");
  if (loc == started.headers.end()) return absl::UnknownError("registry opened an upload without a Location");
  std::string location = loc->second;
  if (!location.starts_with("http")) {
    BERTH_ASSIGN_OR_RETURN(std::string base, client_.baseUrl(domain_));
    location = base + location;
  }
  // Monolithic upload: one PUT with the whole blob and its digest.
  HttpRequest put;
  put.method = "PUT";
  put.url = strCat(location, location.find('?') == std::string::npos ? "?" : "&", "digest=", percentEncode(digest));
  put.headers.push_back("Content-Type: application/octet-stream");
  put.uploadFd = fd;
  put.uploadSize = size;
  BERTH_ASSIGN_OR_RETURN(HttpResponse done, send(put, nullptr, 64 << 10, cancel));
  if (done.status != 201 && !success(done.status)) return statusFor(done);
  return absl::OkStatus();
}

absl::Status Repository::putManifest(std::string_view reference, std::string_view mediaType, std::string_view body) {
  HttpRequest req;
  req.method = "PUT";
  BERTH_ASSIGN_OR_RETURN(req.url, url(strCat("/manifests/", reference)));
  req.headers.push_back(strCat("Content-Type: ", mediaType));
  req.body = std::string(body);
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, send(req));
  if (!success(resp.status)) return statusFor(resp);
  return absl::OkStatus();
}

}  // namespace berth::registry
