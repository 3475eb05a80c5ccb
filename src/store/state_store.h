#pragma once
// The state database: SQLite in WAL mode with synchronous=FULL, so a commit
// that returned is on disk and a kill -9 at any point leaves a database that
// opens. One connection behind one mutex: the single writer the architecture
// asks for; reads are short and share it.
//
// Lifecycle: open() creates or opens <path>, checks its integrity and applies
// pending migrations in one transaction each; close() (or the destructor)
// checkpoints the WAL and closes. Thread-safe.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

struct sqlite3;

namespace berth::store {

struct ObjectCounts {
  int64_t containers = 0;
  int64_t containersRunning = 0;
  int64_t containersPaused = 0;
  int64_t containersStopped = 0;
  int64_t images = 0;
  int64_t volumes = 0;
};

// An image row: the record (JSON) and what lists sort and count by.
struct ImageRow {
  std::string id;
  int64_t created = 0;  // unix seconds
  int64_t size = 0;
  std::string spec;
};

struct ImageRefRow {
  std::string ref;
  std::string imageId;
  std::string kind;      // "tag" or "digest"
  int64_t created = 0;   // unix nanoseconds of tagging
};

// A container row: the record (JSON) and what lists, names and counts need.
struct ContainerRow {
  std::string id;
  std::string name;   // without the leading "/"
  std::string image;  // image id
  std::string state;  // created, running, paused, restarting, exited, dead
  int64_t created = 0;  // unix nanoseconds
  std::string spec;
};

struct VolumeRow {
  std::string name;
  std::string driver;
  int64_t created = 0;  // unix nanoseconds
  std::string spec;
};

struct NetworkRow {
  std::string id;
  std::string name;
  int64_t created = 0;  // unix nanoseconds
  std::string spec;
};

class StateStore {
 public:
  // FailedPrecondition if the database is corrupt or from a newer berth.
  static absl::StatusOr<std::unique_ptr<StateStore>> open(const std::string& path);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // Checkpoints the WAL into the main file and closes. Idempotent.
  absl::Status close();

  int schemaVersion() const { return schemaVersion_; }
  const std::string& path() const { return path_; }

  // Daemon-wide key/value metadata.
  absl::StatusOr<std::optional<std::string>> getMeta(std::string_view key);
  absl::Status setMeta(std::string_view key, std::string_view value);
  // Returns meta[key], first storing `fresh` there if the key is absent.
  absl::StatusOr<std::string> getOrInitMeta(std::string_view key, std::string_view fresh);

  absl::StatusOr<ObjectCounts> counts();

  // What GET /system/df takes from the tables directly: the total size of
  // image layers.
  struct UsageRows {
    int64_t layersSize = 0;
  };
  absl::StatusOr<UsageRows> usageRows();

  // Images. putImage stores the row and points `refs` at it (moving a ref
  // from another image) in one transaction.
  absl::Status putImage(const ImageRow& row, const std::vector<ImageRefRow>& refs);
  absl::StatusOr<std::optional<ImageRow>> getImage(std::string_view id);
  absl::StatusOr<std::vector<ImageRow>> listImages();
  absl::StatusOr<std::vector<ImageRefRow>> listImageRefs();
  absl::Status setImageRef(const ImageRefRow& ref);
  // NotFound when absent.
  absl::Status deleteImageRef(std::string_view ref);
  // The image and its refs.
  absl::Status deleteImage(std::string_view id);

  // Containers. AlreadyExists naming the holder when the name is taken.
  absl::Status insertContainer(const ContainerRow& row);
  // Replaces the row of row.id (name changes included); AlreadyExists when
  // the new name is taken, NotFound when the id is gone.
  absl::Status updateContainer(const ContainerRow& row);
  absl::StatusOr<std::vector<ContainerRow>> listContainers();
  absl::Status deleteContainer(std::string_view id);

  // Volumes. insertVolume is AlreadyExists when the name is taken.
  absl::Status insertVolume(const VolumeRow& row);
  absl::StatusOr<std::optional<VolumeRow>> getVolume(std::string_view name);
  absl::StatusOr<std::vector<VolumeRow>> listVolumes();
  absl::Status deleteVolume(std::string_view name);

  // Networks. insertNetwork is AlreadyExists when the name or id is taken.
  absl::Status insertNetwork(const NetworkRow& row);
  absl::Status updateNetworkSpec(std::string_view id, std::string_view spec);
  absl::StatusOr<std::vector<NetworkRow>> listNetworks();
  absl::Status deleteNetwork(std::string_view id);

 private:
  StateStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  absl::Status migrate();
  absl::Status exec(std::string_view sql);
  absl::StatusOr<int64_t> queryInt(std::string_view sql);

  std::mutex mu_;
  sqlite3* db_;  // guarded by mu_
  std::string path_;
  int schemaVersion_ = 0;
};

using StateStorePtr = std::unique_ptr<StateStore>;

}  // namespace berth::store
