#include "runtime/kube/kube_client.h"

#include "util/status.h"
#include "util/strings.h"
#include "util/unique_fd.h"

namespace berth::runtime::kube {

absl::Status statusFromResponse(long httpStatus, std::string_view body) {
  std::string message;
  std::string reason;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (j.contains("message") && j["message"].is_string()) message = j["message"].get<std::string>();
    if (j.contains("reason") && j["reason"].is_string()) reason = j["reason"].get<std::string>();
  }
  if (message.empty()) {
    message = body.empty() ? strCat("HTTP status ", httpStatus) : std::string(trim(body.substr(0, 512)));
  }
  message = strCat("kubernetes: ", message);
  switch (httpStatus) {
    case 400:
    case 422:
      return absl::InvalidArgumentError(message);
    case 401:
      return absl::UnauthenticatedError(message);
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      return absl::NotFoundError(message);
    case 409:
      return reason == "AlreadyExists" ? absl::AlreadyExistsError(message) : absl::AbortedError(message);
    case 410:
      return absl::OutOfRangeError(message);
    case 429:
      return absl::ResourceExhaustedError(message);
    default:
      return httpStatus >= 500 ? absl::UnavailableError(message) : absl::UnknownError(message);
  }
}

std::string queryEscape(std::string_view value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += char(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<KubeClient>> KubeClient::create(KubeConfig config, std::string userAgent) {
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<registry::HttpClient> http, registry::HttpClient::create(std::move(userAgent), registry::HttpClient::Where::kInProcess));
  return std::unique_ptr<KubeClient>(new KubeClient(std::move(config), std::move(http)));
}

std::string KubeClient::corePath(std::string_view resource, std::string_view name) const {
  std::string p = strCat("/api/v1/namespaces/", config_.nameSpace, "/", resource);
  if (!name.empty()) p = strCat(p, "/", name);
  return p;
}

std::string KubeClient::groupPath(std::string_view groupVersion, std::string_view resource, std::string_view name) const {
  std::string p = strCat("/apis/", groupVersion, "/namespaces/", config_.nameSpace, "/", resource);
  if (!name.empty()) p = strCat(p, "/", name);
  return p;
}

std::string KubeClient::bearerToken() const {
  if (!config_.tokenFile.empty()) return std::string(trim(readFileOrEmpty(config_.tokenFile)));
  return config_.token;
}

registry::HttpRequest KubeClient::request(std::string method, const std::string& path) const {
  registry::HttpRequest req;
  req.method = std::move(method);
  req.url = config_.server + path;
  req.followRedirects = false;
  req.caPem = config_.caPem;
  req.clientCertPem = config_.clientCertPem;
  req.clientKeyPem = config_.clientKeyPem;
  req.insecureSkipVerify = config_.insecureSkipVerify;
  req.headers.push_back("Accept: application/json");
  if (std::string token = bearerToken(); !token.empty()) req.headers.push_back("Authorization: Bearer " + token);
  return req;
}

absl::StatusOr<nlohmann::json> KubeClient::json(registry::HttpRequest req) {
  BERTH_ASSIGN_OR_RETURN(registry::HttpResponse resp, http_->perform(req, nullptr, 64 << 20));
  if (resp.status < 200 || resp.status >= 300) return statusFromResponse(resp.status, resp.body);
  nlohmann::json j = nlohmann::json::parse(resp.body, nullptr, false);
  if (j.is_discarded()) return absl::UnavailableError(strCat("kubernetes: ", req.method, " ", req.url, ": not JSON"));
  return j;
}

absl::StatusOr<nlohmann::json> KubeClient::get(const std::string& path) { return json(request("GET", path)); }

absl::StatusOr<nlohmann::json> KubeClient::post(const std::string& path, const nlohmann::json& body) {
  registry::HttpRequest req = request("POST", path);
  req.headers.push_back("Content-Type: application/json");
  req.body = body.dump();
  return json(std::move(req));
}

absl::StatusOr<nlohmann::json> KubeClient::patch(const std::string& path, const nlohmann::json& mergePatch) {
  registry::HttpRequest req = request("PATCH", path);
  req.headers.push_back("Content-Type: application/merge-patch+json");
  req.body = mergePatch.dump();
  return json(std::move(req));
}

absl::StatusOr<nlohmann::json> KubeClient::remove(const std::string& path, const nlohmann::json& options) {
  registry::HttpRequest req = request("DELETE", path);
  if (!options.is_null()) {
    req.headers.push_back("Content-Type: application/json");
    req.body = options.dump();
  }
  return json(std::move(req));
}

absl::Status KubeClient::stream(const std::string& path, const registry::BodySink& sink,
                                const std::atomic<bool>* cancel) {
  registry::HttpRequest req = request("GET", path);
  req.idleSeconds = 0;
  BERTH_ASSIGN_OR_RETURN(registry::HttpResponse resp, http_->perform(req, &sink, 1 << 20, cancel));
  if (resp.status < 200 || resp.status >= 300) return statusFromResponse(resp.status, resp.body);
  return absl::OkStatus();
}

absl::Status KubeClient::watch(const std::string& path, const WatchHandler& onEvent, const std::atomic<bool>* cancel) {
  std::string pending;
  bool stopped = false;
  registry::BodySink sink = [&](long, std::string_view data) -> absl::Status {
    pending.append(data);
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line = trim(std::string_view(pending).substr(start, nl - start));
      if (line.empty()) continue;
      nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
      if (!event.is_object() || !event.contains("type") || !event["type"].is_string()) {
        return absl::UnavailableError("kubernetes: a watch event that is not JSON");
      }
      const nlohmann::json& object = event.contains("object") ? event["object"] : nlohmann::json();
      std::string type = event["type"].get<std::string>();
      if (type == "ERROR") {
        long code = object.is_object() ? object.value("code", 500L) : 500L;
        return statusFromResponse(code, object.dump());
      }
      if (!onEvent(type, object)) {
        stopped = true;
        return absl::CancelledError("watch ended by its handler");
      }
    }
    pending.erase(0, start);
    if (pending.size() > (16 << 20)) return absl::ResourceExhaustedError("kubernetes: a watch event over 16 MiB");
    return absl::OkStatus();
  };
  absl::Status st = stream(path, sink, cancel);
  if (stopped) return absl::OkStatus();
  return st;
}

}  // namespace berth::runtime::kube
