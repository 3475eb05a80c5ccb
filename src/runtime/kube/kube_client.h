#pragma once
// The Kubernetes API over HTTPS: JSON requests, watches and streamed reads
// (pod logs). Kubernetes' Status errors become typed statuses with the
// server's message, so the engine can pass them on as dockerd-style text.
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "image/registry/http_client.h"
#include "nlohmann/json.hpp"
#include "runtime/kube/kube_config.h"

namespace berth::runtime::kube {

// A Status body (or any failed response) as an absl status: 404 NotFound,
// 409 AlreadyExists/Aborted, 401 Unauthenticated, 403 PermissionDenied,
// 400/422 InvalidArgument, 410 OutOfRange (watch expired), 5xx Unavailable.
absl::Status statusFromResponse(long httpStatus, std::string_view body);

// Percent-encodes a query value (label selectors hold '=' and ',').
std::string queryEscape(std::string_view value);

class KubeClient {
 public:
  static absl::StatusOr<std::unique_ptr<KubeClient>> create(KubeConfig config, std::string userAgent);

  const KubeConfig& config() const { return config_; }
  const std::string& nameSpace() const { return config_.nameSpace; }
  // "/api/v1/namespaces/<ns>/<resource>[/<name>]" in the configured namespace.
  std::string corePath(std::string_view resource, std::string_view name = "") const;
  // "/apis/<groupVersion>/namespaces/<ns>/<resource>[/<name>]": a named API group's.
  std::string groupPath(std::string_view groupVersion, std::string_view resource, std::string_view name = "") const;

  absl::StatusOr<nlohmann::json> get(const std::string& path);
  absl::StatusOr<nlohmann::json> post(const std::string& path, const nlohmann::json& body);
  // A JSON merge patch (RFC 7386).
  absl::StatusOr<nlohmann::json> patch(const std::string& path, const nlohmann::json& mergePatch);
  absl::StatusOr<nlohmann::json> remove(const std::string& path, const nlohmann::json& options = nullptr);

  // A watch (`path` with ?watch=1 and its options): calls `onEvent` with
  // each event's type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR) and
  // object until it returns false, the server ends the watch, or `cancel`
  // becomes true (Cancelled; noticed within a second).
  using WatchHandler = std::function<bool(std::string_view type, const nlohmann::json& object)>;
  absl::Status watch(const std::string& path, const WatchHandler& onEvent, const std::atomic<bool>* cancel);

  // A streamed GET (e.g. pods/log?follow=true): the body piece by piece.
  absl::Status stream(const std::string& path, const registry::BodySink& sink, const std::atomic<bool>* cancel);

  // The credentials of a request (for the WebSocket client, which does
  // not go through libcurl): a bearer token header value or empty.
  std::string bearerToken() const;

 private:
  KubeClient(KubeConfig config, std::unique_ptr<registry::HttpClient> http)
      : config_(std::move(config)), http_(std::move(http)) {}
  registry::HttpRequest request(std::string method, const std::string& path) const;
  absl::StatusOr<nlohmann::json> json(registry::HttpRequest req);

  const KubeConfig config_;
  std::unique_ptr<registry::HttpClient> http_;
};

}  // namespace berth::runtime::kube
