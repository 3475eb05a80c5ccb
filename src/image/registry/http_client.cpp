#include "image/registry/http_client.h"

#include <unistd.h>

#include <cstring>

#include "image/registry/curl_api.h"
#include "image/registry/http_helper.h"
#include "util/host_sockets.h"
#include "util/strings.h"

namespace berth::registry {
namespace {

curl_socket_t openHostSocket(void*, curlsocktype, curl_sockaddr* address) {
  absl::StatusOr<UniqueFd> fd = hostSocket(address->family, address->socktype, address->protocol);
  return fd.ok() ? fd->release() : CURL_SOCKET_BAD;
}

constexpr size_t kMaxIdleHandles = 8;

struct Transfer {
  const CurlApi* curl;
  const HttpRequest* req;
  HttpResponse* resp;
  const BodySink* sink;
  size_t bodyLimit;
  const std::atomic<bool>* cancel;
  absl::Status sinkStatus;
  bool tooLarge = false;
  int64_t uploadOffset = 0;
  long status = 0;
};

size_t onHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {  // a new response (redirect, 100-continue): start over
    t->resp->headers.clear();
    t->resp->wwwAuthenticate.clear();
    auto parts = split(line, ' ', true);
    long code = 0;
    if (parts.size() >= 2 && parseInt(parts[1], code)) t->status = code;
    return size * n;
  }
  auto [name, value] = splitOnce(line, ':');
  if (value.data() == nullptr || name.empty()) return size * n;
  std::string key = toLower(trim(name));
  std::string val(trim(value));
  if (key == "www-authenticate") t->resp->wwwAuthenticate.push_back(val);
  t->resp->headers[key] = std::move(val);
  return size * n;
}

size_t onBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  bool success = t->status >= 200 && t->status < 300;
  if (t->sink != nullptr && success) {
    t->sinkStatus = (*t->sink)(t->status, std::string_view(data, len));
    return t->sinkStatus.ok() ? len : 0;
  }
  if (t->resp->body.size() + len > t->bodyLimit) {
    t->tooLarge = true;
    return 0;
  }
  t->resp->body.append(data, len);
  return len;
}

size_t onUpload(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  int64_t left = t->req->uploadSize - t->uploadOffset;
  if (left <= 0) return 0;
  size_t want = std::min<int64_t>(int64_t(size * n), left);
  ssize_t got = pread(t->req->uploadFd, buf, want, t->uploadOffset);
  if (got <= 0) return CURL_READFUNC_ABORT;
  t->uploadOffset += got;
  return size_t(got);
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return (t->cancel != nullptr && t->cancel->load()) ? 1 : 0;
}

}  // namespace

std::string requestErrorPrefix(const HttpRequest& req) {
  std::string verb = toLower(req.method);
  if (!verb.empty()) verb[0] = char(std::toupper(verb[0]));
  return strCat(verb, " \"", req.url, "\": ");
}

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::create(std::string userAgent, Where where) {
  if (where == Where::kHelperWhenConfigured && HttpHelper::instance().configured()) {
    return std::unique_ptr<HttpClient>(new HttpClient(std::move(userAgent), true));
  }
  absl::StatusOr<const CurlApi*> api = curlApi();
  if (!api.ok()) return api.status();
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(userAgent), false));
}

HttpClient::~HttpClient() {
  if (remote_) return;
  absl::StatusOr<const CurlApi*> api = curlApi();
  if (!api.ok()) return;
  for (void* h : idle_) (*api)->curl_easy_cleanup(h);
}

void* HttpClient::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return (*curlApi())->curl_easy_init();
}

void HttpClient::release(void* handle) {
  {
    std::lock_guard lock(mu_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(handle);
      return;
    }
  }
  (*curlApi())->curl_easy_cleanup(handle);
}

absl::StatusOr<HttpResponse> HttpClient::perform(const HttpRequest& req, const BodySink* sink, size_t bodyLimit,
                                                 const std::atomic<bool>* cancel) {
  if (remote_) return HttpHelper::instance().perform(req, userAgent_, sink, bodyLimit, cancel);
  const CurlApi* c = *curlApi();
  CURL* h = acquire();
  if (h == nullptr) return absl::ResourceExhaustedError("curl_easy_init failed");
  c->curl_easy_reset(h);

  HttpResponse resp;
  Transfer t{c, &req, &resp, sink, bodyLimit, cancel, absl::OkStatus()};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  for (const std::string& hdr : req.headers) headers = c->curl_slist_append(headers, hdr.c_str());

  c->curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  if (hostSocketsFromParent()) {
    // A rootless daemon's own network namespace cannot reach a registry on the host's loopback.
    c->curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, openHostSocket);
  }
  c->curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  c->curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  c->curl_easy_setopt(h, CURLOPT_USERAGENT, userAgent_.c_str());
  c->curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  c->curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, req.followRedirects ? 1L : 0L);
  c->curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  c->curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  c->curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  c->curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  // A transfer that moves nothing for a minute is dead (retried by callers).
  if (req.idleSeconds > 0) {
    c->curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    c->curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, req.idleSeconds);
  }
  // Blobs are copied by curl, so the strings need not outlive this call.
  auto blob = [](const std::string& pem) {
    return curl_blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  };
  if (!req.caPem.empty()) {
    curl_blob b = blob(req.caPem);
    c->curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
  }
  if (!req.clientCertPem.empty()) {
    curl_blob cert = blob(req.clientCertPem), key = blob(req.clientKeyPem);
    c->curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
    c->curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    c->curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
    c->curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (req.insecureSkipVerify) {
    c->curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    c->curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  c->curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, onHeader);
  c->curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  c->curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, onBody);
  c->curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  c->curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  c->curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, onProgress);
  c->curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  c->curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
  if (!req.basicUser.empty()) {
    c->curl_easy_setopt(h, CURLOPT_HTTPAUTH, long(CURLAUTH_BASIC));
    c->curl_easy_setopt(h, CURLOPT_USERNAME, req.basicUser.c_str());
    c->curl_easy_setopt(h, CURLOPT_PASSWORD, req.basicPassword.c_str());
  }
  if (req.method == "HEAD") {
    c->curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.uploadFd >= 0) {
    c->curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    c->curl_easy_setopt(h, CURLOPT_READFUNCTION, onUpload);
    c->curl_easy_setopt(h, CURLOPT_READDATA, &t);
    c->curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(req.uploadSize));
    c->curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH" || !req.body.empty()) {
    c->curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    c->curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(req.body.size()));
    c->curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method != "GET") {
    c->curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }

  CURLcode rc = c->curl_easy_perform(h);
  char* effective = nullptr;
  c->curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective != nullptr) resp.url = effective;
  c->curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  c->curl_slist_free_all(headers);
  c->curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  release(h);

  if (rc == CURLE_OK) return resp;
  std::string prefix = requestErrorPrefix(req);
  if (rc == CURLE_WRITE_ERROR && !t.sinkStatus.ok()) return t.sinkStatus;
  if (rc == CURLE_WRITE_ERROR && t.tooLarge) {
    return absl::ResourceExhaustedError(strCat(prefix, "response body larger than ", bodyLimit, " bytes"));
  }
  if (rc == CURLE_ABORTED_BY_CALLBACK) return absl::CancelledError(strCat(prefix, "context canceled"));
  std::string cause = errbuf[0] != 0 ? std::string(errbuf) : std::string(c->curl_easy_strerror(rc));
  return absl::UnavailableError(strCat(prefix, cause));
}

}  // namespace berth::registry
