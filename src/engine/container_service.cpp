#include "engine/container_service.h"

#include <sys/stat.h>

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <regex>
#include <set>

#include "engine/container_doc.h"
#include "engine/names.h"
#include "image/reference.h"
#include "oci/platform.h"
#include "util/random_id.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/timestamp.h"

namespace berth::engine {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

}  // namespace

int startErrorExitCode(std::string_view message, int otherwise) {
  if (message.find("executable file not found") != std::string_view::npos ||
      message.find("no such file or directory") != std::string_view::npos) {
    return 127;
  }
  if (message.find("permission denied") != std::string_view::npos) return 126;
  return otherwise;
}

std::map<std::string, std::string> labelsOf(const ojson& doc) {
  auto c = doc.find("Config");
  if (c == doc.end() || !c->is_object()) return {};
  auto l = c->find("Labels");
  return l == c->end() ? std::map<std::string, std::string>() : api::types::stringMap(*l);
}

namespace {

// dockerd's masked and read-only paths, shown in HostConfig.
const std::vector<std::string> kMaskedPaths = {
    "/proc/asound",       "/proc/acpi",          "/proc/interrupts",    "/proc/kcore",    "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list",   "/proc/timer_stats",   "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware",      "/sys/devices/virtual/powercap"};
const std::vector<std::string> kReadonlyPaths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                 "/proc/sysrq-trigger"};

// Every HostConfig field dockerd shows, with its defaults.
ojson defaultHostConfig() {
  ojson h;
  h["Binds"] = nullptr;
  h["ContainerIDFile"] = "";
  h["LogConfig"] = {{"Type", "json-file"}, {"Config", ojson::object()}};
  h["NetworkMode"] = "bridge";
  h["PortBindings"] = ojson::object();
  h["RestartPolicy"] = {{"Name", "no"}, {"MaximumRetryCount", 0}};
  h["AutoRemove"] = false;
  h["VolumeDriver"] = "";
  h["VolumesFrom"] = nullptr;
  h["ConsoleSize"] = {0, 0};
  h["CapAdd"] = nullptr;
  h["CapDrop"] = nullptr;
  h["CgroupnsMode"] = "private";
  h["Dns"] = ojson::array();
  h["DnsOptions"] = ojson::array();
  h["DnsSearch"] = ojson::array();
  h["ExtraHosts"] = nullptr;
  h["GroupAdd"] = nullptr;
  h["IpcMode"] = "private";
  h["Cgroup"] = "";
  h["Links"] = nullptr;
  h["OomScoreAdj"] = 0;
  h["PidMode"] = "";
  h["Privileged"] = false;
  h["PublishAllPorts"] = false;
  h["ReadonlyRootfs"] = false;
  h["SecurityOpt"] = nullptr;
  h["UTSMode"] = "";
  h["UsernsMode"] = "";
  h["ShmSize"] = 67108864;
  h["Runtime"] = "berth";
  h["Isolation"] = "";
  h["CpuShares"] = 0;
  h["Memory"] = 0;
  h["NanoCpus"] = 0;
  h["CgroupParent"] = "";
  h["BlkioWeight"] = 0;
  h["BlkioWeightDevice"] = ojson::array();
  h["BlkioDeviceReadBps"] = ojson::array();
  h["BlkioDeviceWriteBps"] = ojson::array();
  h["BlkioDeviceReadIOps"] = ojson::array();
  h["BlkioDeviceWriteIOps"] = ojson::array();
  h["CpuPeriod"] = 0;
  h["CpuQuota"] = 0;
  h["CpuRealtimePeriod"] = 0;
  h["CpuRealtimeRuntime"] = 0;
  h["CpusetCpus"] = "";
  h["CpusetMems"] = "";
  h["Devices"] = ojson::array();
  h["DeviceCgroupRules"] = nullptr;
  h["DeviceRequests"] = nullptr;
  h["MemoryReservation"] = 0;
  h["MemorySwap"] = 0;
  h["MemorySwappiness"] = nullptr;
  h["OomKillDisable"] = nullptr;
  h["PidsLimit"] = nullptr;
  h["Ulimits"] = ojson::array();
  h["CpuCount"] = 0;
  h["CpuPercent"] = 0;
  h["IOMaximumIOps"] = 0;
  h["IOMaximumBandwidth"] = 0;
  h["MaskedPaths"] = kMaskedPaths;
  h["ReadonlyPaths"] = kReadonlyPaths;
  return h;
}

int64_t intField(const json& j, const char* key) {
  auto it = j.find(key);
  return (it != j.end() && it->is_number_integer()) ? it->get<int64_t>() : 0;
}

// dockerd's checks of resource values (400 on failure).
absl::Status validateHostConfig(const json& h) {
  if (!h.is_object()) return absl::InvalidArgumentError("HostConfig must be an object");
  int64_t memory = intField(h, "Memory");
  if (memory != 0 && memory < 6 * 1024 * 1024) return absl::InvalidArgumentError("Minimum memory limit allowed is 6MB");
  int64_t swap = intField(h, "MemorySwap");
  if (memory > 0 && swap > 0 && swap < memory) {
    return absl::InvalidArgumentError("Minimum memoryswap limit should be larger than memory limit, see usage");
  }
  if (memory == 0 && swap > 0) {
    return absl::InvalidArgumentError("You should always set the Memory limit when using Memoryswap limit, see usage");
  }
  if (intField(h, "MemoryReservation") < 0) return absl::InvalidArgumentError("invalid memory reservation");
  if (auto it = h.find("MemorySwappiness"); it != h.end() && it->is_number_integer()) {
    int64_t v = it->get<int64_t>();
    if (v != -1 && (v < 0 || v > 100)) {
      return absl::InvalidArgumentError(strCat("Invalid value: ", v, ", valid memory swappiness range is 0-100"));
    }
  }
  if (intField(h, "NanoCpus") < 0) return absl::InvalidArgumentError("invalid NanoCpus: must not be negative");
  if (intField(h, "NanoCpus") > 0 && (intField(h, "CpuPeriod") > 0 || intField(h, "CpuQuota") > 0)) {
    return absl::InvalidArgumentError("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  }
  if (intField(h, "CpuShares") < 0) return absl::InvalidArgumentError("invalid CPU shares: must not be negative");
  int64_t period = intField(h, "CpuPeriod");
  if (period != 0 && (period < 1000 || period > 1000000)) {
    return absl::InvalidArgumentError("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  }
  int64_t quota = intField(h, "CpuQuota");
  if (quota > 0 && quota < 1000) return absl::InvalidArgumentError("CPU cfs quota can not be less than 1ms (i.e. 1000)");
  if (intField(h, "ShmSize") < 0) return absl::InvalidArgumentError("SHM size can not be less than 0");
  if (intField(h, "BlkioWeight") != 0 && (intField(h, "BlkioWeight") < 10 || intField(h, "BlkioWeight") > 1000)) {
    return absl::InvalidArgumentError("Range of blkio weight is from 10 to 1000");
  }
  if (auto it = h.find("OomScoreAdj"); it != h.end() && it->is_number_integer()) {
    int64_t v = it->get<int64_t>();
    if (v < -1000 || v > 1000) {
      return absl::InvalidArgumentError(strCat("Invalid value ", v, ", range for oom score adj is [-1000, 1000]"));
    }
  }
  if (auto rp = h.find("RestartPolicy"); rp != h.end() && rp->is_object()) {
    std::string name = rp->value("Name", "");
    int64_t retries = intField(*rp, "MaximumRetryCount");
    static const std::set<std::string> kPolicies = {"", "no", "always", "unless-stopped", "on-failure"};
    if (!kPolicies.contains(name)) return absl::InvalidArgumentError(strCat("invalid restart policy: unknown policy '", name, "'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"));
    if (retries < 0) return absl::InvalidArgumentError("invalid restart policy: maximum retry count cannot be negative");
    if (retries > 0 && name != "on-failure") {
      return absl::InvalidArgumentError(strCat("invalid restart policy: maximum retry count can only be used with 'on-failure'"));
    }
    if (h.value("AutoRemove", false) && name != "" && name != "no") {
      return absl::InvalidArgumentError("can't create 'AutoRemove' container with restart policy");
    }
  }
  return absl::OkStatus();
}

// The image config's "config" merged under the request's, as dockerd does.
absl::Status mergeImageConfig(const json& image, ojson& c) {
  auto empty = [&](const char* key) { return !c.contains(key) || c[key].is_null() || (c[key].is_array() && c[key].empty()) || (c[key].is_string() && c[key].get<std::string>().empty()); };
  if (!image.is_object()) return absl::OkStatus();
  if (empty("User") && image.contains("User")) c["User"] = image["User"];
  if (empty("WorkingDir") && image.contains("WorkingDir")) c["WorkingDir"] = image["WorkingDir"];
  if (empty("StopSignal") && image.contains("StopSignal")) c["StopSignal"] = image["StopSignal"];
  if (empty("Shell") && image.contains("Shell")) c["Shell"] = image["Shell"];
  if (empty("Healthcheck") && image.contains("Healthcheck")) c["Healthcheck"] = image["Healthcheck"];
  // Env: the image's, each request value replacing the same key in place
  // or appended (dockerd's ReplaceOrAppendEnvValues).
  ojson env = ojson::array();
  auto keyOf = [](const std::string& e) { return e.substr(0, e.find('=')); };
  if (image.contains("Env") && image["Env"].is_array()) {
    for (const auto& e : image["Env"]) {
      if (e.is_string()) env.push_back(e.get<std::string>());
    }
  }
  if (c.contains("Env") && c["Env"].is_array()) {
    for (const auto& e : c["Env"]) {
      if (!e.is_string()) continue;
      std::string v = e.get<std::string>();
      auto same = std::find_if(env.begin(), env.end(), [&](const ojson& x) { return keyOf(x.get<std::string>()) == keyOf(v); });
      if (same != env.end()) {
        *same = v;
      } else {
        env.push_back(v);
      }
    }
  }
  c["Env"] = env;
  // Entrypoint and Cmd: an explicit entrypoint drops the image's Cmd.
  if (empty("Entrypoint")) {
    if (image.contains("Entrypoint")) c["Entrypoint"] = image["Entrypoint"];
    if (empty("Cmd") && image.contains("Cmd")) c["Cmd"] = image["Cmd"];
  }
  for (const char* key : {"ExposedPorts", "Volumes", "Labels"}) {
    auto it = image.find(key);
    if (it == image.end() || !it->is_object()) continue;
    if (!c.contains(key) || !c[key].is_object()) c[key] = ojson::object();
    for (auto e = it->begin(); e != it->end(); ++e) {
      if (!c[key].contains(e.key())) c[key][e.key()] = e.value();
    }
  }
  if (c.contains("OnBuild") && c["OnBuild"].is_null() && image.contains("OnBuild")) c["OnBuild"] = image["OnBuild"];
  return absl::OkStatus();
}

// Config in dockerd's field order and with its defaults.
ojson normalizedConfig(const ojson& in, const std::string& id) {
  ojson c;
  c["Hostname"] = in.value("Hostname", "").empty() ? id.substr(0, 12) : in.value("Hostname", "");
  c["Domainname"] = in.value("Domainname", "");
  c["User"] = in.value("User", "");
  c["AttachStdin"] = in.value("AttachStdin", false);
  c["AttachStdout"] = in.value("AttachStdout", false);
  c["AttachStderr"] = in.value("AttachStderr", false);
  if (in.contains("ExposedPorts") && in["ExposedPorts"].is_object() && !in["ExposedPorts"].empty()) {
    c["ExposedPorts"] = in["ExposedPorts"];
  }
  c["Tty"] = in.value("Tty", false);
  c["OpenStdin"] = in.value("OpenStdin", false);
  c["StdinOnce"] = in.value("StdinOnce", false);
  c["Env"] = in.contains("Env") ? in["Env"] : ojson(nullptr);
  c["Cmd"] = stringList(in.value("Cmd", ojson())).empty() ? ojson(nullptr) : ojson(stringList(in["Cmd"]));
  if (in.contains("Healthcheck") && !in["Healthcheck"].is_null()) c["Healthcheck"] = in["Healthcheck"];
  c["Image"] = in.value("Image", "");
  c["Volumes"] = in.contains("Volumes") && in["Volumes"].is_object() && !in["Volumes"].empty() ? in["Volumes"]
                                                                                                : ojson(nullptr);
  c["WorkingDir"] = in.value("WorkingDir", "");
  c["Entrypoint"] = stringList(in.value("Entrypoint", ojson())).empty() ? ojson(nullptr)
                                                                         : ojson(stringList(in["Entrypoint"]));
  if (in.value("NetworkDisabled", false)) c["NetworkDisabled"] = true;
  c["OnBuild"] = in.contains("OnBuild") ? in["OnBuild"] : ojson(nullptr);
  c["Labels"] = in.contains("Labels") && in["Labels"].is_object() ? in["Labels"] : ojson::object();
  if (!in.value("StopSignal", "").empty()) c["StopSignal"] = in["StopSignal"];
  if (in.contains("StopTimeout") && in["StopTimeout"].is_number_integer()) c["StopTimeout"] = in["StopTimeout"];
  if (in.contains("Shell") && in["Shell"].is_array() && !in["Shell"].empty()) c["Shell"] = in["Shell"];
  return c;
}

// Go's units.HumanDuration, which `docker ps` shows.
std::string humanDuration(int64_t nanos) {
  int64_t secs = nanos / 1000000000;
  if (secs < 1) return "Less than a second";
  if (secs == 1) return "1 second";
  if (secs < 60) return strCat(secs, " seconds");
  int64_t mins = secs / 60;
  if (mins == 1) return "About a minute";
  if (mins < 60) return strCat(mins, " minutes");
  int64_t hours = (secs + 1800) / 3600;
  if (hours == 1) return "About an hour";
  if (hours < 48) return strCat(hours, " hours");
  if (hours < 24 * 7 * 2) return strCat(hours / 24, " days");
  if (hours < 24 * 30 * 2) return strCat(hours / 24 / 7, " weeks");
  if (hours < 24 * 365 * 2) return strCat(hours / 24 / 30, " months");
  return strCat(hours / 24 / 365, " years");
}

int64_t nanosSince(const ojson& state, const char* key) {
  absl::StatusOr<SystemTime> t = parseRfc3339(state.value(key, std::string(kZeroTime)));
  return t.ok() ? toUnixNanos(nowSystem()) - toUnixNanos(*t) : 0;
}

std::string statusText(const ojson& state) {
  std::string status = state.value("Status", "created");
  if (status == "created") return "Created";
  if (status == "dead") return "Dead";
  if (status == "running") {
    std::string health = state.contains("Health") ? state["Health"].value("Status", "") : "";
    std::string suffix = health == "starting" ? " (health: starting)" : health.empty() ? "" : " (" + health + ")";
    return "Up " + humanDuration(nanosSince(state, "StartedAt")) + suffix;
  }
  if (status == "paused") return "Up " + humanDuration(nanosSince(state, "StartedAt")) + " (Paused)";
  if (status == "restarting") {
    return strCat("Restarting (", state.value("ExitCode", 0), ") ", humanDuration(nanosSince(state, "FinishedAt")), " ago");
  }
  if (status == "exited") {
    if (state.value("FinishedAt", std::string(kZeroTime)) == kZeroTime) return strCat("Exited (", state.value("ExitCode", 0), ")");
    return strCat("Exited (", state.value("ExitCode", 0), ") ", humanDuration(nanosSince(state, "FinishedAt")), " ago");
  }
  return status;
}

absl::Status nameConflict(std::string_view name, std::string_view holder) {
  return absl::AlreadyExistsError(strCat("Conflict. The container name \"/", name, "\" is already in use by container \"",
                                         holder, "\". You have to remove (or rename) that container to be able to reuse that name."));
}

}  // namespace

ContainerService::ContainerService(store::StateStore& db, ImageService& images, VolumeService& volumes,
                                   NetworkService& networks, EventBus& events, std::string graphDriver,
                                   runtime::Runtime& runtime, Scheduler& scheduler, SpecContext specContext)
    : db_(db),
      images_(images),
      volumes_(volumes),
      networks_(networks),
      events_(events),
      graphDriver_(std::move(graphDriver)),
      runtime_(runtime),
      scheduler_(scheduler),
      specContext_(std::move(specContext)) {}

absl::StatusOr<nlohmann::ordered_json> ContainerService::mountsFor(const json& host, const ojson& config) {
  ojson mounts = ojson::array();
  std::set<std::string> targets;
  auto bad = [](std::string_view spec) { return absl::InvalidArgumentError(strCat("invalid volume specification: '", spec, "'")); };
  auto volumeMount = [&](const std::string& name, const std::string& target, bool rw, bool noCopy,
                         const std::map<std::string, std::string>& labels) -> absl::StatusOr<ojson> {
    api::backend::VolumeCreateRequest req;
    req.name = name;
    req.labels = labels;
    BERTH_ASSIGN_OR_RETURN(ojson v, volumes_.createVolume(req));
    // dockerd's Mode: "z" (or "ro"), and nocopy when asked.
    std::string mode = noCopy ? (rw ? "nocopy" : "ro,nocopy") : (rw ? "z" : "ro");
    return ojson{{"Type", "volume"}, {"Name", v.value("Name", "")}, {"Source", v.value("Mountpoint", "")},
                 {"Destination", target}, {"Driver", "local"}, {"Mode", mode}, {"RW", rw},
                 {"Propagation", ""}};
  };
  auto addTarget = [&](const std::string& target, std::string_view spec) -> absl::Status {
    if (!target.starts_with('/')) return bad(spec);
    if (!targets.insert(target).second) return absl::InvalidArgumentError(strCat("Duplicate mount point: ", target));
    return absl::OkStatus();
  };
  if (auto binds = host.find("Binds"); binds != host.end() && binds->is_array()) {
    for (const json& b : *binds) {
      if (!b.is_string()) return absl::InvalidArgumentError("Binds must be strings");
      std::string spec = b.get<std::string>();
      std::vector<std::string_view> parts = split(spec, ':');
      if (parts.size() < 2 || parts.size() > 3 || parts[0].empty()) return bad(spec);
      std::string source(parts[0]), target(parts[1]);
      bool rw = true, noCopy = false;
      std::string propagation = "rprivate";
      if (parts.size() == 3) {
        for (std::string_view opt : split(parts[2], ',')) {
          if (opt == "ro") {
            rw = false;
          } else if (opt == "nocopy") {
            noCopy = true;
          } else if (opt == "rw" || opt == "z" || opt == "Z") {
          } else if (opt == "private" || opt == "rprivate" || opt == "shared" || opt == "rshared" || opt == "slave" ||
                     opt == "rslave") {
            propagation = std::string(opt);
          } else {
            return bad(spec);
          }
        }
      }
      BERTH_RETURN_IF_ERROR(addTarget(target, spec));
      if (source.starts_with('/')) {
        mounts.push_back({{"Type", "bind"}, {"Source", source}, {"Destination", target}, {"Mode", parts.size() == 3 ? std::string(parts[2]) : ""},
                          {"RW", rw}, {"Propagation", propagation}});
      } else {
        BERTH_RETURN_IF_ERROR(validateVolumeName(source));
        BERTH_ASSIGN_OR_RETURN(ojson m, volumeMount(source, target, rw, noCopy, {}));
        mounts.push_back(std::move(m));
      }
    }
  }
  if (auto ms = host.find("Mounts"); ms != host.end() && ms->is_array()) {
    for (const json& m : *ms) {
      if (!m.is_object()) return absl::InvalidArgumentError("Mounts entries must be objects");
      std::string type = m.value("Type", "");
      std::string source = m.value("Source", "");
      std::string target = m.value("Target", "");
      bool rw = !m.value("ReadOnly", false);
      if (target.empty()) return absl::InvalidArgumentError(strCat("invalid mount config for type \"", type, "\": field Target must not be empty"));
      BERTH_RETURN_IF_ERROR(addTarget(target, target));
      if (type == "bind") {
        struct stat st {};
        if (source.empty() || ::stat(source.c_str(), &st) != 0) {
          return absl::InvalidArgumentError(strCat("invalid mount config for type \"bind\": bind source path does not exist: ", source));
        }
        std::string propagation = m.contains("BindOptions") ? m["BindOptions"].value("Propagation", "rprivate") : "rprivate";
        mounts.push_back({{"Type", "bind"}, {"Source", source}, {"Destination", target}, {"Mode", ""}, {"RW", rw},
                          {"Propagation", propagation}});
      } else if (type == "volume") {
        std::map<std::string, std::string> labels;
        bool noCopy = false;
        if (auto o = m.find("VolumeOptions"); o != m.end() && o->is_object()) {
          if (auto l = o->find("Labels"); l != o->end() && l->is_object()) {
            for (auto it = l->begin(); it != l->end(); ++it) {
              if (it->is_string()) labels[it.key()] = it->get<std::string>();
            }
          }
          if (auto n = o->find("NoCopy"); n != o->end() && n->is_boolean()) noCopy = n->get<bool>();
        }
        if (!source.empty()) BERTH_RETURN_IF_ERROR(validateVolumeName(source));
        BERTH_ASSIGN_OR_RETURN(ojson v, volumeMount(source, target, rw, noCopy, labels));
        mounts.push_back(std::move(v));
      } else if (type == "tmpfs") {
        if (!source.empty()) return absl::InvalidArgumentError("invalid mount config for type \"tmpfs\": field Source must not be specified");
        mounts.push_back({{"Type", "tmpfs"}, {"Source", ""}, {"Destination", target}, {"Mode", ""}, {"RW", rw},
                          {"Propagation", ""}});
      } else {
        return absl::InvalidArgumentError(strCat("mount type unknown: \"", type, "\""));
      }
    }
  }
  // The image's (and the request's) VOLUMEs not covered above: anonymous volumes.
  if (auto vols = config.find("Volumes"); vols != config.end() && vols->is_object()) {
    for (auto it = vols->begin(); it != vols->end(); ++it) {
      if (targets.contains(it.key())) continue;
      BERTH_RETURN_IF_ERROR(addTarget(it.key(), it.key()));
      BERTH_ASSIGN_OR_RETURN(ojson m, volumeMount("", it.key(), true, false, {}));
      mounts.push_back(std::move(m));
    }
  }
  return mounts;
}

absl::StatusOr<std::vector<ContainerService::Record>> ContainerService::all() {
  BERTH_ASSIGN_OR_RETURN(std::vector<store::ContainerRow> rows, db_.listContainers());
  std::vector<Record> out;
  for (store::ContainerRow& row : rows) {
    ojson doc = ojson::parse(row.spec, nullptr, false);
    if (!doc.is_object()) continue;  // a damaged record is skipped, not fatal
    out.push_back({std::move(row), std::move(doc)});
  }
  return out;
}

absl::StatusOr<ContainerService::Record> ContainerService::resolve(std::string_view name) {
  std::string_view bare = name;
  if (bare.starts_with('/')) bare.remove_prefix(1);
  BERTH_ASSIGN_OR_RETURN(std::vector<Record> records, all());
  for (Record& r : records) {
    if (r.row.id == name) return std::move(r);
  }
  for (Record& r : records) {
    if (r.row.name == bare) return std::move(r);
  }
  Record* found = nullptr;
  if (!name.empty()) {
    for (Record& r : records) {
      if (!r.row.id.starts_with(name)) continue;
      if (found != nullptr) return absl::InvalidArgumentError(strCat("multiple IDs found with provided prefix: ", name));
      found = &r;
    }
  }
  if (found != nullptr) return std::move(*found);
  return absl::NotFoundError(strCat("No such container: ", name));
}

absl::Status ContainerService::save(Record& r) {
  r.row.spec = r.doc.dump();
  return db_.updateContainer(r.row);
}

void ContainerService::publish(std::string action, const Record& r, std::map<std::string, std::string> extra) {
  std::map<std::string, std::string> attributes = labelsOf(r.doc);
  attributes["name"] = r.row.name;
  attributes["image"] = r.doc["Config"].value("Image", "");
  for (auto& [k, v] : extra) attributes[k] = v;
  events_.publish("container", std::move(action), r.row.id, std::move(attributes));
}

absl::StatusOr<api::backend::ContainerCreated> ContainerService::createContainer(
    const api::backend::ContainerCreateRequest& req) {
  const json& body = req.body;
  std::string imageName = body.value("Image", "");
  if (imageName.empty()) return absl::InvalidArgumentError("no image specified: config.Image must not be empty");
  if (!req.name.empty() && !isValidContainerName(req.name)) {
    return absl::InvalidArgumentError(
        strCat("Invalid container name (", req.name, "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
  }
  json hostIn = body.value("HostConfig", json::object());
  if (hostIn.is_null()) hostIn = json::object();
  BERTH_RETURN_IF_ERROR(validateHostConfig(hostIn));

  // The image, as dockerd: a name that is not here is 404 (the CLI pulls).
  absl::StatusOr<api::types::ImageInspect> image = images_.inspectImage(imageName);
  if (!image.ok()) return image.status();
  if (!req.platform.empty()) {
    BERTH_ASSIGN_OR_RETURN(oci::Platform want, oci::parsePlatform(req.platform));
    oci::Platform have{image->os, image->architecture, image->variant, ""};
    if (!oci::matches(oci::normalize(want), oci::normalize(have))) {
      return absl::NotFoundError(strCat("image with reference ", imageName,
                                        " was found but does not match the specified platform: wanted ",
                                        oci::normalize(want).toString(), ", actual: ", oci::normalize(have).toString()));
    }
  }

  std::string id = newHexId();
  ojson config = ojson::object();
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "HostConfig" && it.key() != "NetworkingConfig") config[it.key()] = it.value();
  }
  BERTH_RETURN_IF_ERROR(mergeImageConfig(image->config, config));
  std::vector<std::string> entrypoint = stringList(config.value("Entrypoint", ojson()));
  std::vector<std::string> cmd = stringList(config.value("Cmd", ojson()));
  std::vector<std::string> argv = entrypoint;
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  if (argv.empty()) return absl::InvalidArgumentError("no command specified");

  ojson host = defaultHostConfig();
  for (auto it = hostIn.begin(); it != hostIn.end(); ++it) {
    if (!it.value().is_null()) host[it.key()] = it.value();
  }
  // Zero and empty values mean the daemon's defaults, as in dockerd.
  if (host["NetworkMode"] == "default" || host["NetworkMode"] == "") host["NetworkMode"] = "bridge";
  if (host["ShmSize"] == 0) host["ShmSize"] = 67108864;
  if (host["CgroupnsMode"] == "") host["CgroupnsMode"] = "private";
  if (host["IpcMode"] == "") host["IpcMode"] = "private";
  if (!host["LogConfig"].is_object()) host["LogConfig"] = ojson::object();
  if (host["LogConfig"].value("Type", "") == "") host["LogConfig"]["Type"] = "json-file";
  if (!host["LogConfig"].contains("Config") || !host["LogConfig"]["Config"].is_object()) {
    host["LogConfig"]["Config"] = ojson::object();
  }
  if (host["RestartPolicy"].value("Name", "") == "") host["RestartPolicy"]["Name"] = "no";

  std::string created = formatRfc3339Nano(nowSystem());
  ojson doc;
  doc["Id"] = id;
  doc["Created"] = created;
  doc["Path"] = argv.front();
  doc["Args"] = std::vector<std::string>(argv.begin() + 1, argv.end());
  doc["State"] = {{"Status", "created"},  {"Running", false},  {"Paused", false},     {"Restarting", false},
                  {"OOMKilled", false},   {"Dead", false},     {"Pid", 0},           {"ExitCode", 0},
                  {"Error", ""},          {"StartedAt", kZeroTime}, {"FinishedAt", kZeroTime}};
  doc["Image"] = image->id;
  doc["ResolvConfPath"] = "";
  doc["HostnamePath"] = "";
  doc["HostsPath"] = "";
  doc["LogPath"] = "";
  doc["Name"] = "";
  doc["RestartCount"] = 0;
  doc["Driver"] = graphDriver_;
  doc["Platform"] = "linux";
  doc["MountLabel"] = "";
  doc["ProcessLabel"] = "";
  doc["AppArmorProfile"] = "";
  doc["ExecIDs"] = nullptr;
  doc["HostConfig"] = host;
  doc["GraphDriver"] = {{"Data", image->graphDriverData}, {"Name", graphDriver_}};
  BERTH_ASSIGN_OR_RETURN(doc["Mounts"], mountsFor(hostIn, config));
  doc["Config"] = normalizedConfig(config, id);
  doc["Config"]["Image"] = imageName;
  std::string netMode = host.value("NetworkMode", "bridge");
  if (netMode.starts_with("container:")) {
    absl::StatusOr<Record> other = resolve(netMode.substr(10));
    if (!other.ok()) return other.status();
  }
  nlohmann::json endpointsConfig = nlohmann::json::object();
  if (body.contains("NetworkingConfig") && body["NetworkingConfig"].is_object() &&
      body["NetworkingConfig"].contains("EndpointsConfig") && body["NetworkingConfig"]["EndpointsConfig"].is_object()) {
    endpointsConfig = body["NetworkingConfig"]["EndpointsConfig"];
  }
  BERTH_ASSIGN_OR_RETURN(ojson networks, networks_.endpointsForCreate(netMode, endpointsConfig));
  doc["NetworkSettings"] = {{"Bridge", ""}, {"SandboxID", ""}, {"SandboxKey", ""}, {"Ports", ojson::object()},
                            {"Networks", std::move(networks)}};
  std::lock_guard lock(mu_);
  // The snapshots this container stands on, read and recorded under GC's
  // lock so a forced rmi cannot collect them in between.
  std::lock_guard gcLock(images_.gcMutex());
  absl::StatusOr<std::vector<std::string>> chains = images_.chainIdsOf(image->id);
  if (!chains.ok()) return absl::NotFoundError(strCat("No such image: ", imageName));
  doc["Berth"] = {{"ChainIds", *chains}};
  Record r;
  r.row = {id, req.name, image->id, "created", toUnixNanos(nowSystem()), ""};
  for (int attempt = 0;; ++attempt) {
    if (req.name.empty()) r.row.name = generateContainerName(attempt);
    doc["Name"] = "/" + r.row.name;
    r.row.spec = doc.dump();
    absl::Status st = db_.insertContainer(r.row);
    if (st.ok()) break;
    if (st.code() != absl::StatusCode::kAlreadyExists) return st;
    if (!req.name.empty()) return nameConflict(req.name, toStd(st.message()));
    if (attempt > 20) return absl::InternalError("could not generate a unique container name");
  }
  r.doc = std::move(doc);
  publish("create", r);
  absl::StatusOr<runtime::ContainerSpec> spec = buildContainerSpec(r.doc, specContext_);
  return api::backend::ContainerCreated{id, spec.ok() ? runtime_.limitWarnings(spec->resources) : std::vector<std::string>{}};
}

absl::StatusOr<nlohmann::ordered_json> ContainerService::inspectContainer(std::string_view name, bool size) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  ojson doc = std::move(r.doc);
  doc.erase("Berth");
  if (size) {
    doc["SizeRw"] = 0;
    doc["SizeRootFs"] = 0;
  }
  return doc;
}

nlohmann::ordered_json ContainerService::summary(const Record& r) const {
  const ojson& d = r.doc;
  ojson s;
  s["Id"] = r.row.id;
  s["Names"] = {"/" + r.row.name};
  s["Image"] = d["Config"].value("Image", "");
  s["ImageID"] = r.row.image;
  std::string command = d.value("Path", "");
  for (const auto& a : d["Args"]) command += " " + a.get<std::string>();
  s["Command"] = command;
  s["Created"] = r.row.created / 1'000'000'000;
  // dockerd's port list: one entry per binding, a bare one per unbound port.
  s["Ports"] = ojson::array();
  const ojson& ports = d["NetworkSettings"].value("Ports", ojson::object());
  for (auto it = ports.begin(); it != ports.end(); ++it) {
    size_t slash = it.key().find('/');
    int privatePort = std::atoi(it.key().c_str());
    std::string type = slash == std::string::npos ? "tcp" : it.key().substr(slash + 1);
    if (!it.value().is_array()) {
      s["Ports"].push_back({{"PrivatePort", privatePort}, {"Type", type}});
      continue;
    }
    for (const auto& b : it.value()) {
      s["Ports"].push_back({{"IP", b.value("HostIp", "")}, {"PrivatePort", privatePort},
                            {"PublicPort", std::atoi(b.value("HostPort", "0").c_str())}, {"Type", type}});
    }
  }
  s["Labels"] = d["Config"]["Labels"];
  s["State"] = d["State"].value("Status", "created");
  s["Status"] = statusText(d["State"]);
  s["HostConfig"] = {{"NetworkMode", d["HostConfig"].value("NetworkMode", "bridge")}};
  s["NetworkSettings"] = {{"Networks", d["NetworkSettings"].value("Networks", ojson::object())}};
  s["Mounts"] = d.value("Mounts", ojson::array());
  return s;
}

absl::StatusOr<std::vector<nlohmann::ordered_json>> ContainerService::listContainers(
    const api::backend::ContainerListOptions& options) {
  const api::types::Filters& f = options.filters;
  BERTH_RETURN_IF_ERROR(api::types::validateFilterKeys(
      f, {"id", "name", "label", "status", "ancestor", "before", "since", "exited", "health", "volume", "network",
          "publish", "expose", "isolation", "is-task"}));
  static const std::set<std::string> kStatuses = {"created", "restarting", "running", "removing",
                                                  "paused",  "exited",     "dead"};
  if (auto it = f.find("status"); it != f.end()) {
    for (const std::string& s : it->second) {
      if (!kStatuses.contains(s)) return absl::InvalidArgumentError(strCat("invalid filter 'status=", s, "'"));
    }
  }
  std::set<int64_t> exitCodes;
  if (auto it = f.find("exited"); it != f.end()) {
    for (const std::string& s : it->second) {
      int64_t code = 0;
      if (!parseInt(s, code)) return absl::InvalidArgumentError(strCat("invalid filter 'exited=", s, "'"));
      exitCodes.insert(code);
    }
  }
  if (auto it = f.find("health"); it != f.end()) {
    for (const std::string& s : it->second) {
      if (s != "starting" && s != "healthy" && s != "unhealthy" && s != "none") {
        return absl::InvalidArgumentError(strCat("Unrecognised filter value for health: ", s));
      }
    }
  }
  BERTH_ASSIGN_OR_RETURN(std::vector<Record> records, all());
  // before/since: by creation order relative to a named container.
  std::optional<int64_t> before, since;
  for (const char* key : {"before", "since"}) {
    auto it = f.find(key);
    if (it == f.end()) continue;
    for (const std::string& v : it->second) {
      BERTH_ASSIGN_OR_RETURN(Record ref, resolve(v));
      (std::string_view(key) == "before" ? before : since) = ref.row.created;
    }
  }
  std::set<std::string> ancestors;
  if (auto it = f.find("ancestor"); it != f.end()) {
    for (const std::string& v : it->second) {
      absl::StatusOr<api::types::ImageInspect> img = images_.inspectImage(v);
      if (img.ok()) ancestors.insert(img->id);
    }
    if (ancestors.empty()) return std::vector<nlohmann::ordered_json>{};
  }
  bool all = options.all || options.limit > 0 || f.contains("status") || f.contains("exited") || before || since;
  std::vector<nlohmann::ordered_json> out;
  for (const Record& r : records) {
    const ojson& state = r.doc["State"];
    std::string status = state.value("Status", "created");
    if (!all && status != "running" && status != "paused" && status != "restarting") continue;
    if (auto it = f.find("id"); it != f.end() &&
        std::none_of(it->second.begin(), it->second.end(), [&](const std::string& p) { return r.row.id.starts_with(p); })) {
      continue;
    }
    if (auto it = f.find("name"); it != f.end()) {
      bool any = false;
      for (const std::string& p : it->second) {
        try {
          any = any || std::regex_search("/" + r.row.name, std::regex(p));
        } catch (const std::regex_error&) {
          return absl::InvalidArgumentError(strCat("invalid filter 'name=", p, "'"));
        }
      }
      if (!any) continue;
    }
    if (auto it = f.find("status"); it != f.end() && !it->second.contains(status)) continue;
    if (!exitCodes.empty() && (status != "exited" || !exitCodes.contains(state.value("ExitCode", int64_t(0))))) continue;
    if (auto it = f.find("health"); it != f.end()) {
      std::string health = state.contains("Health") ? state["Health"].value("Status", "none") : "none";
      if (!it->second.contains(health)) continue;
    }
    if (!api::types::labelsMatch(f, labelsOf(r.doc))) continue;
    if (!ancestors.empty() && !ancestors.contains(r.row.image)) continue;
    if (before && r.row.created >= *before) continue;
    if (since && r.row.created <= *since) continue;
    if (auto it = f.find("network"); it != f.end()) {
      // By network name or ID, as dockerd.
      bool any = false;
      const ojson& nets = r.doc["NetworkSettings"].value("Networks", ojson::object());
      for (auto n = nets.begin(); n != nets.end(); ++n) {
        any = any || it->second.contains(n.key()) || it->second.contains(n.value().value("NetworkID", ""));
      }
      if (!any) continue;
    }
    if (auto it = f.find("volume"); it != f.end()) {
      bool any = false;
      for (const auto& m : r.doc["Mounts"]) {
        any = any || it->second.contains(m.value("Name", "")) || it->second.contains(m.value("Destination", ""));
      }
      if (!any) continue;
    }
    if (f.contains("publish") || f.contains("expose")) {
      // "80", "80/tcp" or a range "8000-8080/tcp", against published host
      // ports (publish) or exposed container ports (expose).
      const ojson& exposed = r.doc["Config"].value("ExposedPorts", ojson::object());
      const ojson& published = r.doc["NetworkSettings"].value("Ports", ojson::object());
      auto inFilter = [](const std::set<std::string>& values, int port, const std::string& proto) {
        for (const std::string& v : values) {
          size_t slash = v.find('/');
          std::string p = v.substr(0, slash), wantProto = slash == std::string::npos ? "tcp" : v.substr(slash + 1);
          size_t dash = p.find('-');
          int lo = std::atoi(p.substr(0, dash).c_str()), hi = dash == std::string::npos ? lo : std::atoi(p.substr(dash + 1).c_str());
          if (wantProto == proto && port >= lo && port <= hi) return true;
        }
        return false;
      };
      bool any = false;
      if (auto it = f.find("expose"); it != f.end()) {
        for (auto e = exposed.begin(); e != exposed.end(); ++e) {
          size_t slash = e.key().find('/');
          any = any || inFilter(it->second, std::atoi(e.key().c_str()),
                                slash == std::string::npos ? "tcp" : e.key().substr(slash + 1));
        }
      }
      if (auto it = f.find("publish"); it != f.end()) {
        for (auto p = published.begin(); p != published.end(); ++p) {
          if (!p.value().is_array()) continue;
          size_t slash = p.key().find('/');
          std::string proto = slash == std::string::npos ? "tcp" : p.key().substr(slash + 1);
          for (const auto& b : p.value()) any = any || inFilter(it->second, std::atoi(b.value("HostPort", "0").c_str()), proto);
        }
      }
      if (!any) continue;
    }
    if (auto it = f.find("is-task"); it != f.end() && it->second.contains("true")) continue;
    nlohmann::ordered_json s = summary(r);
    if (options.size) {
      s["SizeRw"] = 0;
      s["SizeRootFs"] = 0;
    }
    out.push_back(std::move(s));
    if (options.limit > 0 && int(out.size()) >= options.limit) break;
  }
  return out;
}

absl::Status ContainerService::renameContainer(std::string_view name, std::string_view newName) {
  std::string_view target = newName;
  if (target.starts_with('/')) target.remove_prefix(1);
  if (target.empty()) return absl::InvalidArgumentError("Neither old nor new names may be empty");
  if (!isValidContainerName(target)) {
    return absl::InvalidArgumentError(strCat("Invalid container name (", target, "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
  }
  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  if (r.row.name == target) {
    return absl::InvalidArgumentError("Renaming a container with the same name as its current name");
  }
  std::string old = r.row.name;
  r.row.name = std::string(target);
  r.doc["Name"] = "/" + r.row.name;
  absl::Status st = save(r);
  if (st.code() == absl::StatusCode::kAlreadyExists) return nameConflict(target, toStd(st.message()));
  BERTH_RETURN_IF_ERROR(st);
  publish("rename", r, {{"oldName", "/" + old}});
  return absl::OkStatus();
}

absl::Status ContainerService::removeContainer(std::string_view name,
                                               const api::backend::ContainerRemoveOptions& options) {
  Record r;
  std::shared_ptr<Live> l;
  std::string status;
  auto exited = std::make_shared<std::promise<void>>();
  {
    std::lock_guard lock(mu_);
    BERTH_ASSIGN_OR_RETURN(r, resolve(name));
    if (options.link) {
      return absl::InvalidArgumentError("Conflict, cannot remove the default link name of the container");
    }
    l = live(r.row.id);
    std::lock_guard op(l->op);
    BERTH_ASSIGN_OR_RETURN(r, resolve(r.row.id));  // as it is now that start and exit wait for us
    status = r.doc["State"].value("Status", "created");
    if (l->removing) {
      return absl::FailedPreconditionError(strCat("removal of container /", r.row.name, " is already in progress"));
    }
    if ((status == "running" || status == "paused" || status == "restarting") && !options.force) {
      return absl::FailedPreconditionError(strCat("cannot remove container \"/", r.row.name, "\": container is ", status,
                                                  ": stop the container before removing or force remove"));
    }
    l->removing = true;  // from here start refuses, and an exit does not restart it
    if (status == "running" || status == "paused") {
      l->exitWaiters.push_back([exited](api::backend::WaitResult) { exited->set_value(); });
    }
  }
  // Cleared on every way out but success, when the record is gone with it.
  struct ClearRemoving {
    Live* l;
    ~ClearRemoving() {
      if (l == nullptr) return;
      std::lock_guard op(l->op);
      l->removing = false;
    }
  } clearRemoving{l.get()};
  if (status == "running" || status == "paused") {
    // Forced: SIGKILL, and wait until the monitor saw it go. Without the
    // service lock: on kube the wait can take seconds, and creates, renames
    // and other removals must not queue behind it.
    if (status == "paused") (void)runtime_.pause(r.row.id, false);
    (void)runtime_.kill(r.row.id, SIGKILL);
    if (exited->get_future().wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      return absl::InternalError(strCat("could not kill running container ", r.row.id, ", cannot remove"));
    }
  }
  std::lock_guard lock(mu_);
  std::vector<api::backend::WaitCallback> removedWaiters;
  {
    std::lock_guard op(l->op);
    if (l->restartTimer != 0) scheduler_.cancel(l->restartTimer);
    l->restartTimer = 0;
    BERTH_ASSIGN_OR_RETURN(r, resolve(r.row.id));
    networks_.tearDownSandbox(r.row.id);
    BERTH_RETURN_IF_ERROR(runtime_.remove(r.row.id));
    if (!runtime_.onThisMachine()) {  // what the engine kept here for it (copies before start)
      std::error_code ec;
      std::filesystem::remove_all(strCat(specContext_.containersDir, "/", r.row.id), ec);
    }
    BERTH_RETURN_IF_ERROR(db_.deleteContainer(r.row.id));
    clearRemoving.l = nullptr;  // the Live goes too; a new container never shares its id
    removedWaiters = std::move(l->removedWaiters);
    l->removedWaiters.clear();
    l->pendingAttach.clear();  // their clients see the end of the stream
  }
  {
    std::lock_guard liveLock(liveMu_);
    live_.erase(r.row.id);
  }
  {
    std::lock_guard execLock(execMu_);
    std::erase_if(execs_, [&](const auto& kv) { return kv.second->containerId == r.row.id; });
  }
  publish("destroy", r);
  for (auto& w : removedWaiters) w(api::backend::WaitResult{r.doc["State"].value("ExitCode", int64_t(0)), ""});
  if (options.volumes) {
    // Its anonymous volumes go with it (named ones stay, as in dockerd).
    for (const auto& m : r.doc["Mounts"]) {
      if (m.value("Type", "") != "volume") continue;
      absl::StatusOr<ojson> v = volumes_.inspectVolume(m.value("Name", ""));
      if (v.ok() && (*v)["Labels"].contains(std::string(kAnonymousVolumeLabel))) {
        (void)volumes_.removeVolume(m.value("Name", ""), false);
      }
    }
  }
  // Layers of an image removed while this container used it go now.
  if (absl::StatusOr<std::optional<image::ImageEntry>> still = images_.byId(r.row.image); still.ok() && !*still) {
    (void)images_.collectGarbage();
  }
  return absl::OkStatus();
}

absl::StatusOr<api::backend::ContainerPruneReport> ContainerService::pruneContainers(const api::types::Filters& filters) {
  BERTH_RETURN_IF_ERROR(api::types::validateFilterKeys(filters, {"until", "label", "label!"}));
  BERTH_ASSIGN_OR_RETURN(std::optional<int64_t> until, api::types::timeFilter(filters, "until"));
  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(std::vector<Record> records, all());
  api::backend::ContainerPruneReport report;
  for (const Record& r : records) {
    std::string status = r.doc["State"].value("Status", "created");
    if (status == "running" || status == "paused" || status == "restarting") continue;
    if (until && r.row.created >= *until) continue;
    if (!api::types::labelsMatch(filters, labelsOf(r.doc))) continue;
    networks_.tearDownSandbox(r.row.id);
    BERTH_RETURN_IF_ERROR(runtime_.remove(r.row.id));
    BERTH_RETURN_IF_ERROR(db_.deleteContainer(r.row.id));
    publish("destroy", r);
    report.deleted.push_back(r.row.id);
  }
  if (!report.deleted.empty()) (void)images_.collectGarbage();
  events_.publish("container", "prune", "", {{"reclaimed", strCat(report.spaceReclaimed)}});
  return report;
}

absl::StatusOr<std::vector<std::string>> ContainerService::updateContainer(std::string_view name, const json& body) {
  if (!body.is_object()) return absl::InvalidArgumentError("update config must be an object");
  static const std::set<std::string> kResources = {
      "CpuShares", "Memory", "NanoCpus", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime",
      "CpusetCpus", "CpusetMems", "MemoryReservation", "MemorySwap", "MemorySwappiness", "PidsLimit",
      "BlkioWeight", "KernelMemory", "OomKillDisable", "Ulimits"};
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  std::shared_ptr<Live> l = live(r.row.id);
  std::lock_guard op(l->op);
  BERTH_ASSIGN_OR_RETURN(r, resolve(r.row.id));
  ojson& host = r.doc["HostConfig"];
  ojson updated = host;  // ordered: inspect keeps dockerd's field order
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (kResources.contains(it.key()) && !it.value().is_null()) updated[it.key()] = ojson::parse(it.value().dump());
  }
  if (body.contains("RestartPolicy") && body["RestartPolicy"].is_object()) {
    updated["RestartPolicy"] = ojson::parse(body["RestartPolicy"].dump());
    if (updated["RestartPolicy"].value("Name", "") == "") updated["RestartPolicy"]["Name"] = "no";
    if (updated.value("AutoRemove", false) && updated["RestartPolicy"]["Name"] != "no") {
      return absl::InvalidArgumentError("Restart policy cannot be updated because AutoRemove is enabled for the container");
    }
  }
  BERTH_RETURN_IF_ERROR(validateHostConfig(json::parse(updated.dump())));
  std::string status = r.doc["State"].value("Status", "");
  std::vector<std::string> warnings;
  if (status == "running" || status == "paused") {
    ojson probe = r.doc;
    probe["HostConfig"] = updated;
    BERTH_ASSIGN_OR_RETURN(runtime::ContainerSpec spec, buildContainerSpec(probe, specContext_));
    BERTH_RETURN_IF_ERROR(runtime_.updateResources(r.row.id, spec.resources, warnings));
  }
  host = std::move(updated);
  BERTH_RETURN_IF_ERROR(save(r));
  publish("update", r);
  return warnings;
}

absl::StatusOr<std::map<std::string, std::vector<std::string>>> ContainerService::volumeUses() {
  BERTH_ASSIGN_OR_RETURN(std::vector<Record> records, all());
  std::map<std::string, std::vector<std::string>> out;
  for (const Record& r : records) {
    for (const auto& m : r.doc["Mounts"]) {
      if (m.value("Type", "") == "volume") out[m.value("Name", "")].push_back(r.row.id);
    }
  }
  return out;
}

absl::StatusOr<std::vector<ImageUse>> ContainerService::imageUses() {
  BERTH_ASSIGN_OR_RETURN(std::vector<Record> records, all());
  std::vector<ImageUse> out;
  for (const Record& r : records) {
    ImageUse u;
    u.containerId = r.row.id;
    u.imageId = r.row.image;
    std::string status = r.doc["State"].value("Status", "created");
    u.running = status == "running" || status == "paused" || status == "restarting";
    if (r.doc.contains("Berth")) u.chainIds = stringList(r.doc["Berth"].value("ChainIds", ojson::array()));
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace berth::engine
