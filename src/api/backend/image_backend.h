#pragma once
// What the image routes need from the engine. Implemented by engine::Engine.
// Thread-safe; everything but startPull blocks and is called off the I/O
// threads.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/types/filters.h"
#include "api/types/image.h"

namespace berth::api::backend {

struct ImagePullOptions {
  std::string fromImage;
  std::string tag;           // or a digest; may be empty
  std::string platform;      // "" for the host's
  std::string registryAuth;  // the X-Registry-Auth header, as sent
};

// Called from the pull's thread, in order; must not block for long.
using ProgressSink = std::function<void(const types::ProgressLine&)>;
using DoneCallback = std::function<void(absl::Status)>;

struct ImagePushOptions {
  std::string name;          // repository, or repository:tag
  std::string tag;           // empty: the name's tag, else every tag of the repository
  std::string registryAuth;
};

// A request body spooled to a temporary file (image loads and imports),
// removed when destroyed.
class UploadSpool {
 public:
  virtual ~UploadSpool() = default;
  virtual absl::Status write(std::string_view data) = 0;
  virtual int fd() const = 0;
};

struct ImageImportOptions {
  std::string source;  // "-" (the spooled body) or an http(s) URL
  std::string repo, tag, message, platform;
  std::vector<std::string> changes;
};

// One file of a save archive: bytes from `path`, or `data` when path is empty.
struct ArchiveFile {
  std::string name;
  int64_t size = 0;
  std::string path;
  std::string data;
};

struct ImageListOptions {
  bool all = false;
  types::Filters filters;
};

struct ImageRemoveOptions {
  bool force = false;
  bool noprune = false;
};

struct LoginResult {
  std::string status;         // "Login Succeeded"
  std::string identityToken;  // empty: none issued
};

class ImageBackend {
 public:
  virtual ~ImageBackend() = default;

  // Starts a pull on an engine thread and returns at once. `progress` gets
  // each line, then `done` the result (errors before any progress line are
  // the request's errors: the route answers them with a status code).
  virtual void startPull(ImagePullOptions options, ProgressSink progress, DoneCallback done) = 0;

  // As startPull, for POST /images/{name}/push.
  virtual void startPush(ImagePushOptions options, ProgressSink progress, DoneCallback done) = 0;

  // GET /distribution/{name}/json: the registry's descriptor and platforms,
  // without pulling.
  virtual absl::StatusOr<types::DistributionInspect> distributionInspect(std::string_view name,
                                                                         std::string_view registryAuth) = 0;

  virtual absl::StatusOr<std::vector<types::ImageSummary>> listImages(const ImageListOptions& options) = 0;
  // NotFound "No such image: …".
  virtual absl::StatusOr<types::ImageInspect> inspectImage(std::string_view name) = 0;
  virtual absl::StatusOr<std::vector<types::ImageHistoryItem>> imageHistory(std::string_view name) = 0;
  // `repo` and `tag` as the API's query parameters (tag may be empty → latest).
  virtual absl::Status tagImage(std::string_view name, std::string_view repo, std::string_view tag) = 0;
  virtual absl::StatusOr<std::vector<types::ImageDeleteItem>> removeImage(std::string_view name,
                                                                          const ImageRemoveOptions& options) = 0;
  virtual absl::StatusOr<types::ImagePruneReport> pruneImages(const types::Filters& filters) = 0;
  virtual absl::StatusOr<std::unique_ptr<UploadSpool>> newSpool() = 0;
  // POST /images/create?fromSrc=…; returns the new image's id.
  virtual absl::StatusOr<std::string> importImage(const ImageImportOptions& options, UploadSpool* body) = 0;
  // POST /images/load: "Loaded image: busybox:latest" (or "Loaded image ID:
  // sha256:…") per image. InvalidArgument for an archive that is not one.
  virtual absl::StatusOr<std::vector<std::string>> loadImages(UploadSpool& body) = 0;
  // GET /images/{name}/get, GET /images/get: the files of the archive.
  virtual absl::StatusOr<std::vector<ArchiveFile>> saveImages(const std::vector<std::string>& names) = 0;

  // POST /auth: checks the credentials (JSON body) against the registry.
  virtual absl::StatusOr<LoginResult> login(std::string_view authConfigJson) = 0;
};

}  // namespace berth::api::backend
