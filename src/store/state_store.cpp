#include "store/state_store.h"

#include <sqlite3.h>

#include "util/strings.h"
#include "store/migrations.h"
#include "util/log.h"
#include "util/status.h"

namespace berth::store {
namespace {

absl::Status sqliteError(sqlite3* db, std::string_view what) {
  return absl::InternalError(strCat("state database: ", what, ": ", db ? sqlite3_errmsg(db) : "out of memory"));
}

// Finalizes a prepared statement on scope exit.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

}  // namespace

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = sqliteError(db, strCat("open ", path));
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<StateStore> store(new StateStore(db, path));
  sqlite3_busy_timeout(db, 5000);
  // WAL with FULL sync: every committed transaction survives a crash or power loss.
  BERTH_RETURN_IF_ERROR(store->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));

  BERTH_ASSIGN_OR_RETURN(int64_t userVersion, store->queryInt("PRAGMA user_version"));
  if (userVersion > 0) {
    Stmt st;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st.s, nullptr) != SQLITE_OK) {
      return sqliteError(db, "integrity check");
    }
    if (sqlite3_step(st.s) != SQLITE_ROW) return sqliteError(db, "integrity check");
    std::string verdict = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
    if (verdict != "ok") {
      return absl::FailedPreconditionError(strCat("state database ", path, " is damaged: ", verdict));
    }
  }
  int latest = migrations().empty() ? 0 : migrations().back().version;
  if (userVersion > latest) {
    return absl::FailedPreconditionError(strCat("state database ", path, " has schema version ", userVersion,
                                                      ", newer than this berth understands (", latest, ")"));
  }
  store->schemaVersion_ = static_cast<int>(userVersion);
  BERTH_RETURN_IF_ERROR(store->migrate());
  return store;
}

StateStore::~StateStore() {
  absl::Status s = close();
  if (!s.ok()) log::error("closing state database", {{"error", std::string(s.message())}});
}

absl::Status StateStore::close() {
  std::lock_guard lock(mu_);
  if (db_ == nullptr) return absl::OkStatus();
  // Fold the WAL back so the file is self-contained after a clean stop.
  sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  int rc = sqlite3_close(db_);
  if (rc != SQLITE_OK) return sqliteError(db_, "close");
  db_ = nullptr;
  return absl::OkStatus();
}

absl::Status StateStore::exec(std::string_view sql) {
  char* err = nullptr;
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    absl::Status s = absl::InternalError(strCat("state database: ", err ? err : "error"));
    sqlite3_free(err);
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> StateStore::queryInt(std::string_view sql) {
  Stmt st;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &st.s, nullptr) != SQLITE_OK) {
    return sqliteError(db_, sql);
  }
  if (sqlite3_step(st.s) != SQLITE_ROW) return sqliteError(db_, sql);
  return sqlite3_column_int64(st.s, 0);
}

absl::Status StateStore::migrate() {
  for (const Migration& m : migrations()) {
    if (m.version <= schemaVersion_) continue;
    // Each migration and its version bump commit together or not at all.
    BERTH_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
    absl::Status s = exec(m.sql);
    if (s.ok()) s = exec(strCat("PRAGMA user_version=", m.version));
    if (s.ok()) s = exec("COMMIT");
    if (!s.ok()) {
      (void)exec("ROLLBACK");
      return wrap(s, strCat("migration ", m.version, " (", m.description, ")"));
    }
    log::info("state database migrated", {{"version", strCat(m.version)}, {"step", std::string(m.description)}});
    schemaVersion_ = m.version;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> StateStore::getMeta(std::string_view key) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE key = ?1", -1, &st.s, nullptr) != SQLITE_OK) {
    return sqliteError(db_, "read meta");
  }
  sqlite3_bind_text(st.s, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  int rc = sqlite3_step(st.s);
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return sqliteError(db_, "read meta");
  return std::optional<std::string>(reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0)));
}

absl::Status StateStore::setMeta(std::string_view key, std::string_view value) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    return sqliteError(db_, "write meta");
  }
  sqlite3_bind_text(st.s, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 2, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(st.s) != SQLITE_DONE) return sqliteError(db_, "write meta");
  return absl::OkStatus();
}

absl::StatusOr<std::string> StateStore::getOrInitMeta(std::string_view key, std::string_view fresh) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = value "
                         "RETURNING value",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    return sqliteError(db_, "init meta");
  }
  sqlite3_bind_text(st.s, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 2, fresh.data(), static_cast<int>(fresh.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(st.s) != SQLITE_ROW) return sqliteError(db_, "init meta");
  std::string value = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
  if (sqlite3_step(st.s) != SQLITE_DONE) return sqliteError(db_, "init meta");
  return value;
}

absl::StatusOr<ObjectCounts> StateStore::counts() {
  std::lock_guard lock(mu_);
  ObjectCounts c;
  Stmt st;
  constexpr std::string_view kSql =
      "SELECT (SELECT count(*) FROM containers),"
      " (SELECT count(*) FROM containers WHERE state = 'running'),"
      " (SELECT count(*) FROM containers WHERE state = 'paused'),"
      " (SELECT count(*) FROM images),"
      " (SELECT count(*) FROM volumes)";
  if (sqlite3_prepare_v2(db_, kSql.data(), static_cast<int>(kSql.size()), &st.s, nullptr) != SQLITE_OK ||
      sqlite3_step(st.s) != SQLITE_ROW) {
    return sqliteError(db_, "count objects");
  }
  c.containers = sqlite3_column_int64(st.s, 0);
  c.containersRunning = sqlite3_column_int64(st.s, 1);
  c.containersPaused = sqlite3_column_int64(st.s, 2);
  c.containersStopped = c.containers - c.containersRunning - c.containersPaused;
  c.images = sqlite3_column_int64(st.s, 3);
  c.volumes = sqlite3_column_int64(st.s, 4);
  return c;
}



absl::StatusOr<StateStore::UsageRows> StateStore::usageRows() {
  std::lock_guard lock(mu_);
  UsageRows rows;
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT coalesce(sum(size), 0) FROM images", -1, &st.s, nullptr) != SQLITE_OK ||
      sqlite3_step(st.s) != SQLITE_ROW) {
    return sqliteError(db_, "sum image sizes");
  }
  rows.layersSize = sqlite3_column_int64(st.s, 0);
  return rows;
}

namespace {

void bindText(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

std::string columnText(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}

absl::Status upsertRef(sqlite3* db, const ImageRefRow& r) {
  Stmt st;
  const char* sql =
      "INSERT INTO image_refs(ref, image_id, kind, created) VALUES(?1, ?2, ?3, ?4) "
      "ON CONFLICT(ref) DO UPDATE SET image_id = ?2, kind = ?3, created = ?4";
  if (sqlite3_prepare_v2(db, sql, -1, &st.s, nullptr) != SQLITE_OK) return sqliteError(db, "write image ref");
  bindText(st.s, 1, r.ref);
  bindText(st.s, 2, r.imageId);
  bindText(st.s, 3, r.kind);
  sqlite3_bind_int64(st.s, 4, r.created);
  if (sqlite3_step(st.s) != SQLITE_DONE) return sqliteError(db, "write image ref");
  return absl::OkStatus();
}

}  // namespace

absl::Status StateStore::putImage(const ImageRow& row, const std::vector<ImageRefRow>& refs) {
  std::lock_guard lock(mu_);
  BERTH_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> absl::Status {
    Stmt st;
    const char* sql =
        "INSERT INTO images(id, created, size, spec) VALUES(?1, ?2, ?3, ?4) "
        "ON CONFLICT(id) DO UPDATE SET created = ?2, size = ?3, spec = ?4";
    if (sqlite3_prepare_v2(db_, sql, -1, &st.s, nullptr) != SQLITE_OK) return sqliteError(db_, "write image");
    bindText(st.s, 1, row.id);
    sqlite3_bind_int64(st.s, 2, row.created);
    sqlite3_bind_int64(st.s, 3, row.size);
    bindText(st.s, 4, row.spec);
    if (sqlite3_step(st.s) != SQLITE_DONE) return sqliteError(db_, "write image");
    for (const ImageRefRow& r : refs) BERTH_RETURN_IF_ERROR(upsertRef(db_, r));
    return absl::OkStatus();
  };
  absl::Status s = body();
  if (s.ok()) s = exec("COMMIT");
  if (!s.ok()) (void)exec("ROLLBACK");
  return s;
}

absl::StatusOr<std::optional<ImageRow>> StateStore::getImage(std::string_view id) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT id, created, size, spec FROM images WHERE id = ?1", -1, &st.s, nullptr) !=
      SQLITE_OK) {
    return sqliteError(db_, "read image");
  }
  bindText(st.s, 1, id);
  int rc = sqlite3_step(st.s);
  if (rc == SQLITE_DONE) return std::optional<ImageRow>();
  if (rc != SQLITE_ROW) return sqliteError(db_, "read image");
  return std::optional<ImageRow>(
      ImageRow{columnText(st.s, 0), sqlite3_column_int64(st.s, 1), sqlite3_column_int64(st.s, 2), columnText(st.s, 3)});
}

absl::StatusOr<std::vector<ImageRow>> StateStore::listImages() {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT id, created, size, spec FROM images ORDER BY created DESC, id", -1, &st.s,
                         nullptr) != SQLITE_OK) {
    return sqliteError(db_, "list images");
  }
  std::vector<ImageRow> out;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    out.push_back({columnText(st.s, 0), sqlite3_column_int64(st.s, 1), sqlite3_column_int64(st.s, 2), columnText(st.s, 3)});
  }
  if (rc != SQLITE_DONE) return sqliteError(db_, "list images");
  return out;
}

absl::StatusOr<std::vector<ImageRefRow>> StateStore::listImageRefs() {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT ref, image_id, kind, created FROM image_refs ORDER BY ref", -1, &st.s,
                         nullptr) != SQLITE_OK) {
    return sqliteError(db_, "list image refs");
  }
  std::vector<ImageRefRow> out;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    out.push_back({columnText(st.s, 0), columnText(st.s, 1), columnText(st.s, 2), sqlite3_column_int64(st.s, 3)});
  }
  if (rc != SQLITE_DONE) return sqliteError(db_, "list image refs");
  return out;
}

absl::Status StateStore::setImageRef(const ImageRefRow& ref) {
  std::lock_guard lock(mu_);
  return upsertRef(db_, ref);
}

absl::Status StateStore::deleteImageRef(std::string_view ref) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "DELETE FROM image_refs WHERE ref = ?1", -1, &st.s, nullptr) != SQLITE_OK) {
    return sqliteError(db_, "delete image ref");
  }
  bindText(st.s, 1, ref);
  if (sqlite3_step(st.s) != SQLITE_DONE) return sqliteError(db_, "delete image ref");
  if (sqlite3_changes(db_) == 0) return absl::NotFoundError(strCat("no such reference: ", ref));
  return absl::OkStatus();
}

absl::Status StateStore::deleteImage(std::string_view id) {
  std::lock_guard lock(mu_);
  Stmt st;
  // image_refs rows go with it (ON DELETE CASCADE).
  if (sqlite3_prepare_v2(db_, "DELETE FROM images WHERE id = ?1", -1, &st.s, nullptr) != SQLITE_OK) {
    return sqliteError(db_, "delete image");
  }
  bindText(st.s, 1, id);
  if (sqlite3_step(st.s) != SQLITE_DONE) return sqliteError(db_, "delete image");
  return absl::OkStatus();
}

namespace {

absl::Status bindContainer(sqlite3* db, sqlite3_stmt* st, const ContainerRow& r) {
  (void)db;
  bindText(st, 1, r.id);
  bindText(st, 2, r.name);
  bindText(st, 3, r.image);
  bindText(st, 4, r.state);
  sqlite3_bind_int64(st, 5, r.created);
  bindText(st, 6, r.spec);
  return absl::OkStatus();
}

// The id holding `name`, for dockerd's conflict message.
std::string nameHolder(sqlite3* db, std::string_view name) {
  Stmt st;
  if (sqlite3_prepare_v2(db, "SELECT id FROM containers WHERE name = ?1", -1, &st.s, nullptr) != SQLITE_OK) return "";
  bindText(st.s, 1, name);
  return sqlite3_step(st.s) == SQLITE_ROW ? columnText(st.s, 0) : "";
}

}  // namespace

absl::Status StateStore::insertContainer(const ContainerRow& row) {
  std::lock_guard lock(mu_);
  Stmt st;
  const char* sql = "INSERT INTO containers(id, name, image, state, created, spec) VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
  if (sqlite3_prepare_v2(db_, sql, -1, &st.s, nullptr) != SQLITE_OK) return sqliteError(db_, "insert container");
  BERTH_RETURN_IF_ERROR(bindContainer(db_, st.s, row));
  int rc = sqlite3_step(st.s);
  if (rc == SQLITE_CONSTRAINT) {
    return absl::AlreadyExistsError(nameHolder(db_, row.name));
  }
  if (rc != SQLITE_DONE) return sqliteError(db_, "insert container");
  return absl::OkStatus();
}

absl::Status StateStore::updateContainer(const ContainerRow& row) {
  std::lock_guard lock(mu_);
  Stmt st;
  const char* sql = "UPDATE containers SET name = ?2, image = ?3, state = ?4, created = ?5, spec = ?6 WHERE id = ?1";
  if (sqlite3_prepare_v2(db_, sql, -1, &st.s, nullptr) != SQLITE_OK) return sqliteError(db_, "update container");
  BERTH_RETURN_IF_ERROR(bindContainer(db_, st.s, row));
  int rc = sqlite3_step(st.s);
  if (rc == SQLITE_CONSTRAINT) return absl::AlreadyExistsError(nameHolder(db_, row.name));
  if (rc != SQLITE_DONE) return sqliteError(db_, "update container");
  if (sqlite3_changes(db_) == 0) return absl::NotFoundError(strCat("No such container: ", row.id));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ContainerRow>> StateStore::listContainers() {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT id, name, image, state, created, spec FROM containers ORDER BY created DESC, id",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    return sqliteError(db_, "list containers");
  }
  std::vector<ContainerRow> out;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    out.push_back({columnText(st.s, 0), columnText(st.s, 1), columnText(st.s, 2), columnText(st.s, 3),
                   sqlite3_column_int64(st.s, 4), columnText(st.s, 5)});
  }
  if (rc != SQLITE_DONE) return sqliteError(db_, "list containers");
  return out;
}

absl::Status StateStore::deleteContainer(std::string_view id) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "DELETE FROM containers WHERE id = ?1", -1, &st.s, nullptr) != SQLITE_OK) {
    return sqliteError(db_, "delete container");
  }
  bindText(st.s, 1, id);
  if (sqlite3_step(st.s) != SQLITE_DONE) return sqliteError(db_, "delete container");
  return absl::OkStatus();
}

absl::Status StateStore::insertVolume(const VolumeRow& row) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "INSERT INTO volumes(name, driver, created, spec) VALUES(?1, ?2, ?3, ?4)", -1, &st.s,
                         nullptr) != SQLITE_OK) {
    return sqliteError(db_, "insert volume");
  }
  bindText(st.s, 1, row.name);
  bindText(st.s, 2, row.driver);
  sqlite3_bind_int64(st.s, 3, row.created);
  bindText(st.s, 4, row.spec);
  int rc = sqlite3_step(st.s);
  if (rc == SQLITE_CONSTRAINT) return absl::AlreadyExistsError(strCat("volume ", row.name, " exists"));
  if (rc != SQLITE_DONE) return sqliteError(db_, "insert volume");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<VolumeRow>> StateStore::getVolume(std::string_view name) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT name, driver, created, spec FROM volumes WHERE name = ?1", -1, &st.s, nullptr) !=
      SQLITE_OK) {
    return sqliteError(db_, "read volume");
  }
  bindText(st.s, 1, name);
  int rc = sqlite3_step(st.s);
  if (rc == SQLITE_DONE) return std::optional<VolumeRow>();
  if (rc != SQLITE_ROW) return sqliteError(db_, "read volume");
  return std::optional<VolumeRow>(
      VolumeRow{columnText(st.s, 0), columnText(st.s, 1), sqlite3_column_int64(st.s, 2), columnText(st.s, 3)});
}

absl::StatusOr<std::vector<VolumeRow>> StateStore::listVolumes() {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT name, driver, created, spec FROM volumes ORDER BY name", -1, &st.s, nullptr) !=
      SQLITE_OK) {
    return sqliteError(db_, "list volumes");
  }
  std::vector<VolumeRow> out;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    out.push_back({columnText(st.s, 0), columnText(st.s, 1), sqlite3_column_int64(st.s, 2), columnText(st.s, 3)});
  }
  if (rc != SQLITE_DONE) return sqliteError(db_, "list volumes");
  return out;
}

absl::Status StateStore::deleteVolume(std::string_view name) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "DELETE FROM volumes WHERE name = ?1", -1, &st.s, nullptr) != SQLITE_OK) {
    return sqliteError(db_, "delete volume");
  }
  bindText(st.s, 1, name);
  if (sqlite3_step(st.s) != SQLITE_DONE) return sqliteError(db_, "delete volume");
  return absl::OkStatus();
}

absl::Status StateStore::insertNetwork(const NetworkRow& row) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "INSERT INTO networks(id, name, created, spec) VALUES(?1, ?2, ?3, ?4)", -1, &st.s,
                         nullptr) != SQLITE_OK) {
    return sqliteError(db_, "insert network");
  }
  bindText(st.s, 1, row.id);
  bindText(st.s, 2, row.name);
  sqlite3_bind_int64(st.s, 3, row.created);
  bindText(st.s, 4, row.spec);
  int rc = sqlite3_step(st.s);
  if (rc == SQLITE_CONSTRAINT) return absl::AlreadyExistsError(strCat("network with name ", row.name, " already exists"));
  if (rc != SQLITE_DONE) return sqliteError(db_, "insert network");
  return absl::OkStatus();
}

absl::Status StateStore::updateNetworkSpec(std::string_view id, std::string_view spec) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "UPDATE networks SET spec = ?2 WHERE id = ?1", -1, &st.s, nullptr) != SQLITE_OK) {
    return sqliteError(db_, "update network");
  }
  bindText(st.s, 1, id);
  bindText(st.s, 2, spec);
  if (sqlite3_step(st.s) != SQLITE_DONE) return sqliteError(db_, "update network");
  if (sqlite3_changes(db_) == 0) return absl::NotFoundError(strCat("network ", id, " not found"));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<NetworkRow>> StateStore::listNetworks() {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT id, name, created, spec FROM networks ORDER BY created", -1, &st.s, nullptr) !=
      SQLITE_OK) {
    return sqliteError(db_, "list networks");
  }
  std::vector<NetworkRow> out;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    out.push_back({columnText(st.s, 0), columnText(st.s, 1), sqlite3_column_int64(st.s, 2), columnText(st.s, 3)});
  }
  if (rc != SQLITE_DONE) return sqliteError(db_, "list networks");
  return out;
}

absl::Status StateStore::deleteNetwork(std::string_view id) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "DELETE FROM networks WHERE id = ?1", -1, &st.s, nullptr) != SQLITE_OK) {
    return sqliteError(db_, "delete network");
  }
  bindText(st.s, 1, id);
  if (sqlite3_step(st.s) != SQLITE_DONE) return sqliteError(db_, "delete network");
  return absl::OkStatus();
}

}  // namespace berth::store
