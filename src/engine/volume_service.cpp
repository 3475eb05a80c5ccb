#include "engine/volume_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "util/log.h"
#include "util/random_id.h"
#include "util/rooted_fs.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/timestamp.h"

namespace berth::engine {
namespace {

using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;

// What the runtime keeps of a stored volume (private: not in the API's documents).
constexpr const char* kPrivateKey = "Berth";

std::string handleOf(const ojson& volume) {
  auto b = volume.find(kPrivateKey);
  return b == volume.end() || !b->is_object() ? std::string() : b->value("Handle", "");
}

ojson publicDoc(ojson volume) {
  volume.erase(kPrivateKey);
  return volume;
}

std::map<std::string, std::string> labelsOf(const ojson& volume) {
  auto l = volume.find("Labels");
  return l == volume.end() ? std::map<std::string, std::string>() : api::types::stringMap(*l);
}

// Bytes of regular files under `dir`, never following symlinks.
int64_t treeSize(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end; it != end;
       it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += int64_t(it->file_size(ec));
  }
  return total;
}

}  // namespace

absl::Status validateVolumeName(std::string_view name) {
  if (name.size() < 2) {
    return absl::InvalidArgumentError(
        strCat("create ", name, ": volume name is too short, names should be at least two alphanumeric characters"));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!(alnum || (i > 0 && (c == '_' || c == '.' || c == '-')))) {
      return absl::InvalidArgumentError(strCat(
          "create ", name, ": \"", name,
          "\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. "
          "If you intended to pass a host directory, use absolute path"));
    }
  }
  return absl::OkStatus();
}

VolumeService::VolumeService(store::StateStore& db, EventBus& events, std::string dataRoot)
    : db_(db), events_(events), root_(dataRoot + "/volumes") {
  std::error_code ec;
  fs::create_directories(root_, ec);
  ::chmod(root_.c_str(), 0701);
}

void VolumeService::publish(std::string action, const std::string& name, std::string driver) {
  events_.publish("volume", std::move(action), name, {{"driver", std::move(driver)}});
}

absl::StatusOr<std::map<std::string, std::vector<std::string>>> VolumeService::uses() {
  if (!uses_) return std::map<std::string, std::vector<std::string>>{};
  return uses_();
}

absl::StatusOr<nlohmann::ordered_json> VolumeService::createVolume(const api::backend::VolumeCreateRequest& req) {
  std::string driver = req.driver.empty() ? "local" : req.driver;
  if (driver != "local") {
    return absl::NotFoundError(strCat("error looking up volume plugin ", driver, ": plugin \"", driver, "\" not found"));
  }
  // The local driver's options, or the runtime's when it keeps volumes itself.
  std::vector<std::string> runtimeOptions = runtime_ ? runtime_->volumeOptions() : std::vector<std::string>{};
  std::set<std::string> allowed = {"type", "o", "device", "size"};
  if (!runtimeOptions.empty()) allowed = std::set<std::string>(runtimeOptions.begin(), runtimeOptions.end());
  for (const auto& [k, v] : req.driverOpts) {
    if (!allowed.contains(k)) return absl::InvalidArgumentError(strCat("invalid option: \"", k, "\""));
  }
  if (runtimeOptions.empty() && req.driverOpts.contains("type") != req.driverOpts.contains("device")) {
    return absl::InvalidArgumentError("missing required option: \"device\" and \"type\" go together");
  }
  std::string name = req.name;
  std::map<std::string, std::string> labels = req.labels;
  if (name.empty()) {
    name = newHexId();
    labels[std::string(kAnonymousVolumeLabel)] = "";
  }
  BERTH_RETURN_IF_ERROR(validateVolumeName(name));

  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(std::optional<store::VolumeRow> existing, db_.getVolume(name));
  if (existing) {
    ojson v = ojson::parse(existing->spec, nullptr, false);
    if (existing->driver != driver) {
      return absl::AlreadyExistsError(strCat("create ", name, ": volume name is already in use with driver \"",
                                             existing->driver, "\""));
    }
    return publicDoc(std::move(v));
  }
  // Anonymous volumes live as long as their container: never kept by the runtime.
  std::optional<runtime::StoredVolume> stored;
  if (runtime_ && !req.name.empty()) {
    BERTH_ASSIGN_OR_RETURN(stored, runtime_->createVolume(name, req.driverOpts));
  }
  std::string dir = strCat(root_, "/", name);
  if (!stored) {
    std::error_code ec;
    fs::create_directories(dir + "/_data", ec);
    if (ec) return absl::InternalError(strCat("create ", name, ": ", ec.message()));
    ::chmod((dir + "/_data").c_str(), 0755);
  }

  ojson v;
  v["CreatedAt"] = formatRfc3339Nano(nowSystem()).substr(0, 19) + "Z";
  v["Driver"] = driver;
  v["Labels"] = ojson::object();
  for (const auto& [k, val] : labels) v["Labels"][k] = val;
  v["Mountpoint"] = stored ? "" : dir + "/_data";
  v["Name"] = name;
  v["Options"] = ojson::object();
  for (const auto& [k, val] : req.driverOpts) v["Options"][k] = val;
  v["Scope"] = "local";
  if (stored) {
    v["Status"] = ojson::object();
    for (const auto& [k, val] : stored->status) v["Status"][k] = val;
    v[kPrivateKey] = {{"Handle", stored->handle}};
  }
  absl::Status st = db_.insertVolume({name, driver, toUnixNanos(nowSystem()), v.dump()});
  if (!st.ok()) {
    if (stored) (void)runtime_->removeVolume(stored->handle);
    return st;
  }
  publish("create", name, driver);
  return publicDoc(std::move(v));
}

absl::StatusOr<std::vector<nlohmann::ordered_json>> VolumeService::listVolumes(const api::types::Filters& filters) {
  BERTH_RETURN_IF_ERROR(api::types::validateFilterKeys(filters, {"dangling", "driver", "label", "name"}));
  BERTH_ASSIGN_OR_RETURN(std::optional<bool> dangling, api::types::boolFilter(filters, "dangling"));
  BERTH_ASSIGN_OR_RETURN(auto used, uses());
  BERTH_ASSIGN_OR_RETURN(std::vector<store::VolumeRow> rows, db_.listVolumes());
  std::vector<nlohmann::ordered_json> out;
  for (const store::VolumeRow& row : rows) {
    ojson v = ojson::parse(row.spec, nullptr, false);
    if (!v.is_object()) continue;
    if (dangling && (used.contains(row.name) == *dangling)) continue;
    if (auto it = filters.find("driver"); it != filters.end() && !it->second.contains(row.driver)) continue;
    if (auto it = filters.find("name"); it != filters.end() &&
        std::none_of(it->second.begin(), it->second.end(),
                     [&](const std::string& n) { return row.name.find(n) != std::string::npos; })) {
      continue;
    }
    if (!api::types::labelsMatch(filters, labelsOf(v))) continue;
    out.push_back(publicDoc(std::move(v)));
  }
  return out;
}

absl::StatusOr<nlohmann::ordered_json> VolumeService::inspectVolume(std::string_view name) {
  BERTH_ASSIGN_OR_RETURN(std::optional<store::VolumeRow> row, db_.getVolume(name));
  if (!row) return absl::NotFoundError(strCat("get ", name, ": no such volume"));
  return publicDoc(ojson::parse(row->spec, nullptr, false));
}

absl::StatusOr<std::string> VolumeService::volumeHandle(std::string_view name) {
  BERTH_ASSIGN_OR_RETURN(std::optional<store::VolumeRow> row, db_.getVolume(name));
  return row ? handleOf(ojson::parse(row->spec, nullptr, false)) : std::string();
}

absl::StatusOr<int64_t> VolumeService::destroy(const store::VolumeRow& row) {
  const std::string& name = row.name;
  // The runtime's copy first: if it cannot go, the record stays to retry with.
  if (std::string handle = handleOf(ojson::parse(row.spec, nullptr, false)); !handle.empty() && runtime_) {
    if (absl::Status st = runtime_->removeVolume(handle); !st.ok()) {
      return absl::Status(st.code(), strCat("remove ", name, ": ", st.message()));
    }
  }
  std::string dir = strCat(root_, "/", name);
  int64_t size = treeSize(dir + "/_data");
  BERTH_RETURN_IF_ERROR(db_.deleteVolume(name));
  UniqueFd parent(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (parent.valid()) BERTH_RETURN_IF_ERROR(removeAllAt(parent.get(), name));
  publish("destroy", name, "local");
  return size;
}

absl::Status VolumeService::removeVolume(std::string_view name, bool force) {
  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(std::optional<store::VolumeRow> row, db_.getVolume(name));
  if (!row) {
    if (force) return absl::OkStatus();
    return absl::NotFoundError(strCat("get ", name, ": no such volume"));
  }
  BERTH_ASSIGN_OR_RETURN(auto used, uses());
  if (auto it = used.find(std::string(name)); it != used.end()) {
    return absl::FailedPreconditionError(strCat("remove ", name, ": volume is in use - [", join(it->second, ", "), "]"));
  }
  return destroy(*row).status();
}

void VolumeService::destroyStored(const std::function<bool(const store::VolumeRow&)>& which, std::string_view why) {
  absl::StatusOr<std::vector<store::VolumeRow>> rows = db_.listVolumes();
  if (!rows.ok()) return;
  for (const store::VolumeRow& row : *rows) {
    if (handleOf(ojson::parse(row.spec, nullptr, false)).empty() || !which(row)) continue;
    log::info("removing a volume", {{"volume", row.name}, {"why", std::string(why)}});
    if (absl::StatusOr<int64_t> gone = destroy(row); !gone.ok()) {
      log::warn("could not remove a volume", {{"volume", row.name}, {"error", std::string(gone.status().message())}});
    }
  }
}

void VolumeService::reapStoredOlderThan(std::chrono::seconds maxAge) {
  std::lock_guard lock(mu_);
  absl::StatusOr<std::map<std::string, std::vector<std::string>>> used = uses();
  if (!used.ok()) return;
  int64_t oldest = toUnixNanos(nowSystem()) - int64_t(maxAge.count()) * 1'000'000'000;
  destroyStored([&](const store::VolumeRow& row) { return !used->contains(row.name) && row.created < oldest; },
                "older than --reapmax and unused");
}

void VolumeService::forgetStored() {
  std::lock_guard lock(mu_);
  destroyStored([](const store::VolumeRow&) { return true; }, "the daemon's end or --prune-start");
}

absl::StatusOr<api::backend::VolumePruneReport> VolumeService::pruneVolumes(const api::types::Filters& filters) {
  BERTH_RETURN_IF_ERROR(api::types::validateFilterKeys(filters, {"label", "label!", "all"}));
  BERTH_ASSIGN_OR_RETURN(std::optional<bool> allFilter, api::types::boolFilter(filters, "all"));
  bool all = allFilter.value_or(false);
  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(auto used, uses());
  BERTH_ASSIGN_OR_RETURN(std::vector<store::VolumeRow> rows, db_.listVolumes());
  api::backend::VolumePruneReport report;
  for (const store::VolumeRow& row : rows) {
    ojson v = ojson::parse(row.spec, nullptr, false);
    if (!v.is_object() || used.contains(row.name)) continue;
    std::map<std::string, std::string> labels = labelsOf(v);
    if (!all && !labels.contains(std::string(kAnonymousVolumeLabel))) continue;
    if (!api::types::labelsMatch(filters, labels)) continue;
    BERTH_ASSIGN_OR_RETURN(int64_t size, destroy(row));
    report.deleted.push_back(row.name);
    report.spaceReclaimed += size;
  }
  events_.publish("volume", "prune", "", {{"reclaimed", strCat(report.spaceReclaimed)}});
  return report;
}

absl::StatusOr<std::vector<nlohmann::ordered_json>> VolumeService::usage() {
  BERTH_ASSIGN_OR_RETURN(auto used, uses());
  BERTH_ASSIGN_OR_RETURN(std::vector<ojson> vols, listVolumes({}));
  for (ojson& v : vols) {
    std::string name = v.value("Name", "");
    std::string mountpoint = v.value("Mountpoint", "");
    // dockerd's -1: the size of a volume kept elsewhere is not known here.
    v["UsageData"] = {{"Size", mountpoint.empty() ? int64_t(-1) : treeSize(mountpoint)},
                      {"RefCount", used.contains(name) ? int64_t(used[name].size()) : 0}};
  }
  return vols;
}

}  // namespace berth::engine
