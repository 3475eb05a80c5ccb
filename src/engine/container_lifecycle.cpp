// ContainerService: running containers — start, stop, kill, restart,
// pause, wait, exits and restart policies, and the daemon-restart
// reconciliation. Records and their queries are in container_service.cpp.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/strings/str_join.h"
#include "engine/container_doc.h"
#include "engine/container_service.h"
#include "runtime/monitor_protocol.h"
#include "util/log.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/timestamp.h"
#include "util/unique_fd.h"

namespace berth::engine {
namespace {

using ojson = nlohmann::ordered_json;

bool isRunningStatus(const std::string& s) { return s == "running" || s == "paused" || s == "restarting"; }

std::string statusOf(const ojson& doc) { return doc["State"].value("Status", "created"); }

// Legacy links' variables, where the container does not set them itself.
void addLinkEnv(std::vector<std::string>& env, const std::vector<std::string>& linkEnv) {
  for (const std::string& var : linkEnv) {
    std::string_view key = splitOnce(var, '=').first;
    bool set = std::any_of(env.begin(), env.end(), [&](const std::string& e) {
      return e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=';
    });
    if (!set) env.push_back(var);
  }
}

// dockerd's log options: max-size ("10m"), max-file ("3").
void logOptions(const ojson& host, runtime::StartOptions& o) {
  const ojson& cfg = host["LogConfig"].value("Config", ojson::object());
  if (cfg.contains("max-size") && cfg["max-size"].is_string()) {
    int64_t n = parseByteSize(cfg["max-size"].get<std::string>());
    if (n > 0) o.logMaxSize = n;
  }
  if (cfg.contains("max-file") && cfg["max-file"].is_string()) {
    int n = 0;
    if (parseInt(cfg["max-file"].get<std::string>(), n) && n > 0) o.logMaxFiles = n;
  }
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ContainerService::lowerDirsOf(const Record& r) {
  std::vector<std::string> chains;
  if (r.doc.contains("Berth")) chains = stringList(r.doc["Berth"].value("ChainIds", ojson::array()));
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> paths, images_.snapshotPaths(chains));
  return std::vector<std::string>(paths.rbegin(), paths.rend());  // overlay wants the top layer first
}

absl::StatusOr<runtime::ContainerSpec> ContainerService::specFor(const Record& r) {
  SpecContext ctx = specContext_;
  BERTH_ASSIGN_OR_RETURN(ctx.lowerDirs, lowerDirsOf(r));
  BERTH_ASSIGN_OR_RETURN(runtime::ContainerSpec spec, buildContainerSpec(r.doc, ctx));
  for (runtime::Mount& m : spec.mounts) {
    if (!m.volume.empty()) {
      BERTH_ASSIGN_OR_RETURN(m.volumeHandle, volumes_.volumeHandle(m.volume));
    }
  }
  return spec;
}

std::shared_ptr<ContainerService::Live> ContainerService::live(const std::string& id) {
  std::lock_guard lock(liveMu_);
  auto& p = live_[id];
  if (!p) p = std::make_shared<Live>();
  return p;
}

bool ContainerService::manuallyStopped(const Record& r) const {
  return r.doc.contains("Berth") && r.doc["Berth"].value("ManuallyStopped", false);
}

void ContainerService::setManuallyStopped(Record& r, bool stopped) { r.doc["Berth"]["ManuallyStopped"] = stopped; }

absl::StatusOr<bool> ContainerService::startContainer(std::string_view name) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  std::shared_ptr<Live> l = live(r.row.id);
  absl::StatusOr<bool> started;
  {
    std::lock_guard op(l->op);
    BERTH_ASSIGN_OR_RETURN(r, resolve(r.row.id));  // fresh, under the lock
    if (l->restartTimer != 0) {
      scheduler_.cancel(l->restartTimer);
      l->restartTimer = 0;
    }
    setManuallyStopped(r, false);
    started = startLocked(*l, r);
  }
  // As dockerd: a --rm container that could not start is removed (docker
  // run waits for that).
  if (!started.ok() && r.doc["HostConfig"].value("AutoRemove", false)) {
    (void)removeContainer(r.row.id, {true, true, false});
  }
  return started;
}

absl::StatusOr<bool> ContainerService::startLocked(Live& l, Record& r) {
  std::string status = statusOf(r.doc);
  if (status == "running" || status == "paused") return false;
  if (status == "removing" || status == "dead" || l.removing) {
    return absl::FailedPreconditionError("container is marked for removal and cannot be started");  // dockerd's text
  }
  BERTH_ASSIGN_OR_RETURN(runtime::ContainerSpec spec, specFor(r));
  const bool here = runtime_.onThisMachine();
  if (here) {
    BERTH_RETURN_IF_ERROR(setUpNetworking(r, spec));
  } else {
    BERTH_RETURN_IF_ERROR(remoteNetworking(r, spec));
    BERTH_RETURN_IF_ERROR(publishRemotePorts(r));
  }
  runtime::StartOptions options;
  const ojson& config = r.doc["Config"];
  options.openStdin = config.value("OpenStdin", false);
  options.stdinOnce = config.value("StdinOnce", false);
  logOptions(r.doc["HostConfig"], options);
  options.attachments = std::move(l.pendingAttach);
  l.pendingAttach.clear();
  if (!here) options.copies = copiesBeforeStart(r.row.id);

  absl::StatusOr<runtime::Started> started = runtime_.start(spec, std::move(options));
  ojson& state = r.doc["State"];
  if (!started.ok()) {
    networks_.tearDownSandbox(r.row.id);
    NetworkService::clearRunningSettings(r.doc["NetworkSettings"]);
    // As dockerd: the error is kept in State with runc's exit code for it.
    std::string msg(started.status().message());
    state["Error"] = msg;
    state["ExitCode"] = startErrorExitCode(msg, 128);
    if (statusOf(r.doc) == "restarting") {
      state["Status"] = "exited";
      state["Restarting"] = false;
    }
    (void)save(r);
    publish("die", r, {{"exitCode", strCat(state["ExitCode"].get<int>())}});
    return started.status();
  }
  for (const std::string& w : started->warnings) {
    log::warn("container start", {{"container", r.row.id.substr(0, 12)}, {"warning", w}});
  }
  std::string dir = strCat(specContext_.containersDir, "/", r.row.id);
  state["Status"] = "running";
  state["Running"] = true;
  state["Paused"] = false;
  state["Restarting"] = false;
  state["OOMKilled"] = false;
  state["Dead"] = false;
  state["Pid"] = started->pid;
  state["ExitCode"] = 0;
  state["Error"] = "";
  state["StartedAt"] = started->startedAt.empty() ? formatRfc3339Nano(nowSystem()) : started->startedAt;
  if (here) {
    r.doc["ResolvConfPath"] = dir + "/resolv.conf";
    r.doc["HostnamePath"] = dir + "/hostname";
    r.doc["HostsPath"] = dir + "/hosts";
    r.doc["LogPath"] = dir + "/container.log";
  } else {
    // The cluster's address for it: on every network it is on, as a pod has one.
    ojson& settings = r.doc["NetworkSettings"];
    settings["IPAddress"] = started->ipAddress;
    if (settings.contains("Networks") && settings["Networks"].is_object()) {
      for (auto& e : settings["Networks"]) e["IPAddress"] = started->ipAddress;
    }
    // Ports not bound here are shown where the cluster serves them: the pod's address.
    if (!runtime_.publishesPortsHere()) settings["Ports"] = NetworkService::portsAt(r.doc, started->ipAddress);
  }
  r.row.state = "running";
  ++l.generation;
  l.running = true;
  if (!startHealthcheck(r, l)) state.erase("Health");
  BERTH_RETURN_IF_ERROR(save(r));
  publish("start", r);
  std::string id = r.row.id;
  runtime_.watch(id, [this, id](runtime::ExitStatus e) { onExit(id, std::move(e)); });
  return true;
}

absl::Status ContainerService::remoteNetworking(Record& r, runtime::ContainerSpec& spec) {
  const ojson& host = r.doc["HostConfig"];
  BERTH_ASSIGN_OR_RETURN(spec.extraHosts, networks_.extraHostsOf(host));
  std::string mode = host.value("NetworkMode", "bridge");
  std::vector<std::string> linkEnv;
  if (mode == "bridge" || mode == "default") BERTH_RETURN_IF_ERROR(legacyLinks(r, spec.extraHosts, linkEnv));
  addLinkEnv(spec.env, linkEnv);
  // The user networks it is on, by id (the default bridge has no names in Docker either).
  std::set<std::string> mine;
  const ojson& nets = r.doc["NetworkSettings"].value("Networks", ojson::object());
  for (auto it = nets.begin(); it != nets.end(); ++it) {
    if (it.key() != "bridge" && it.value().is_object()) mine.insert(it.value().value("NetworkID", ""));
  }
  mine.erase("");
  if (mine.empty()) return absl::OkStatus();
  BERTH_ASSIGN_OR_RETURN(std::vector<Record> records, all());
  for (const Record& peer : records) {
    if (peer.row.id == r.row.id || statusOf(peer.doc) != "running") continue;
    const ojson& settings = peer.doc["NetworkSettings"];
    std::string ip = settings.value("IPAddress", "");
    if (ip.empty()) continue;
    std::vector<std::string> names;
    const ojson& peerNets = settings.value("Networks", ojson::object());
    for (auto it = peerNets.begin(); it != peerNets.end(); ++it) {
      if (!it.value().is_object() || !mine.contains(it.value().value("NetworkID", ""))) continue;
      if (names.empty()) names = {peer.row.name, peer.row.id.substr(0, 12)};
      for (const std::string& a : stringList(it.value().value("Aliases", ojson()))) {
        if (std::find(names.begin(), names.end(), a) == names.end()) names.push_back(a);
      }
    }
    if (!names.empty()) spec.extraHosts.push_back(strCat(ip, "\t", absl::StrJoin(names, " ")));
  }
  return absl::OkStatus();
}

absl::Status ContainerService::publishRemotePorts(Record& r) {
  if (!runtime_.publishesPortsHere()) return absl::OkStatus();
  std::string id = r.row.id;
  BERTH_ASSIGN_OR_RETURN(ojson ports, networks_.publishTunnelled(id, r.doc, [this, id](uint16_t port) {
    return runtime_.dialPort(id, port);
  }));
  r.doc["NetworkSettings"]["Ports"] = std::move(ports);
  return absl::OkStatus();
}

absl::Status ContainerService::legacyLinks(const Record& r, std::vector<std::string>& hosts,
                                           std::vector<std::string>& env) {
  for (const std::string& link : stringList(r.doc["HostConfig"].value("Links", ojson()))) {
    auto [target, aliasView] = parseLink(link);
    std::string alias(aliasView);
    absl::StatusOr<Record> child = resolve(target);
    if (!child.ok()) return absl::InvalidArgumentError(strCat("could not get container for ", target));
    std::string childName = child->row.name;
    if (statusOf(child->doc) != "running") {
      return absl::FailedPreconditionError(
          strCat("Cannot link to a non running container: /", childName, " AS /", r.row.name, "/", alias));
    }
    std::string ip = child->doc["NetworkSettings"]["Networks"].value("bridge", ojson::object()).value("IPAddress", "");
    if (ip.empty()) {
      return absl::InvalidArgumentError(strCat("Cannot link to /", childName, ", as it does not belong to the default network"));
    }
    // dockerd's /etc/hosts line: the alias, the child's hostname, and its name unless that is the alias.
    const ojson& childConfig = child->doc["Config"];
    std::string names = strCat(alias, " ", childConfig.value("Hostname", ""));
    if (alias != childName) names += " " + childName;
    hosts.push_back(strCat(ip, "\t", names));
    std::vector<std::string> vars = linkVariables(alias, strCat("/", r.row.name, "/", alias), ip,
                                                  childConfig.value("ExposedPorts", ojson::object()),
                                                  childConfig.value("Env", ojson::array()));
    env.insert(env.end(), vars.begin(), vars.end());
  }
  return absl::OkStatus();
}

absl::Status ContainerService::setUpNetworking(Record& r, runtime::ContainerSpec& spec) {
  SandboxRequest req{r.row.id, r.row.name, r.doc["Config"].value("Hostname", ""), &r.doc, ""};
  std::string mode = r.doc["HostConfig"].value("NetworkMode", "bridge");
  // Links on the default bridge are dockerd's legacy kind: /etc/hosts lines
  // and variables (on user networks the resolver answers them).
  std::vector<std::string> linkHosts, linkEnv;
  if (mode == "bridge" || mode == "default") BERTH_RETURN_IF_ERROR(legacyLinks(r, linkHosts, linkEnv));
  addLinkEnv(spec.env, linkEnv);
  if (mode.starts_with("container:")) {
    // Its namespace, while it runs (dockerd's rule), and its hostname.
    BERTH_ASSIGN_OR_RETURN(Record other, resolve(mode.substr(10)));
    if (statusOf(other.doc) != "running") {
      return absl::FailedPreconditionError(
          strCat("cannot join network namespace of a non running container: container ", other.row.id, " is ",
                 statusOf(other.doc)));
    }
    req.joinNetnsPath = strCat("/proc/", other.doc["State"].value("Pid", 0), "/ns/net");
    spec.hostname = other.doc["Config"].value("Hostname", spec.hostname);
    for (std::string& e : spec.env) {
      if (e.starts_with("HOSTNAME=")) e = "HOSTNAME=" + spec.hostname;
    }
  }
  BERTH_ASSIGN_OR_RETURN(Sandbox sb, networks_.setUpSandbox(req));
  if (!sb.netnsPath.empty()) {
    spec.netMode = "path";
    spec.netnsPath = sb.netnsPath;
  }
  spec.resolvConf = sb.resolvConf;
  spec.extraHosts = sb.extraHosts;
  spec.extraHosts.insert(spec.extraHosts.end(), linkHosts.begin(), linkHosts.end());
  spec.ipAddress = sb.ipAddress;
  r.doc["NetworkSettings"] = sb.networkSettings;
  return absl::OkStatus();
}

absl::Status ContainerService::connectContainer(std::string_view container, const std::string& networkId,
                                                const nlohmann::json& endpointConfig) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(container));
  std::shared_ptr<Live> l = live(r.row.id);
  std::lock_guard op(l->op);
  BERTH_ASSIGN_OR_RETURN(r, resolve(r.row.id));
  std::string mode = r.doc["HostConfig"].value("NetworkMode", "bridge");
  if (mode == "host" || mode == "none" || mode.starts_with("container:")) {
    return absl::PermissionDeniedError(strCat("container cannot be connected to multiple networks with one of the "
                                              "networks in private (none) mode"));
  }
  BERTH_ASSIGN_OR_RETURN(auto entry, networks_.endpointEntry(networkId, endpointConfig));
  ojson& nets = r.doc["NetworkSettings"]["Networks"];
  if (nets.contains(entry.first)) {
    return absl::PermissionDeniedError(
        strCat("endpoint with name ", r.row.name, " already exists in network ", entry.first));
  }
  std::string status = statusOf(r.doc);
  if ((status == "running" || status == "paused") && !runtime_.onThisMachine()) {
    // A pod keeps its one address; containers started from now on find it by its names here.
    entry.second["IPAddress"] = r.doc["NetworkSettings"].value("IPAddress", "");
  } else if (status == "running" || status == "paused") {
    bool hadResolver = false;
    for (auto it = nets.begin(); it != nets.end(); ++it) hadResolver = hadResolver || it.key() != "bridge";
    BERTH_ASSIGN_OR_RETURN(entry.second, networks_.attachRunning(r.row.id, r.row.name, networkId, endpointConfig));
    // Names resolve from now on (dockerd starts the sandbox's resolver the
    // same way): the file is rewritten in place, it is bind-mounted.
    std::string conf = networks_.resolvConfFor(r.doc["HostConfig"], networkId);
    std::string path = r.doc.value("ResolvConfPath", "");
    if (!hadResolver && !conf.empty() && !path.empty()) {
      UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
      if (!fd.valid() || !writeAll(fd.get(), conf).ok()) {
        log::warn("could not update a container's resolv.conf", {{"container", r.row.id.substr(0, 12)}});
      }
    }
  }
  nets[entry.first] = entry.second;
  return save(r);
}

absl::Status ContainerService::disconnectContainer(std::string_view container, const std::string& networkId,
                                                   bool /*force*/) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(container));
  std::shared_ptr<Live> l = live(r.row.id);
  std::lock_guard op(l->op);
  BERTH_ASSIGN_OR_RETURN(r, resolve(r.row.id));
  ojson& nets = r.doc["NetworkSettings"]["Networks"];
  std::string name;
  for (auto it = nets.begin(); it != nets.end(); ++it) {
    if (it.value().value("NetworkID", "") == networkId) name = it.key();
  }
  if (name.empty()) {
    BERTH_ASSIGN_OR_RETURN(auto net, networks_.resolveNetwork(networkId));
    return absl::PermissionDeniedError(strCat("container ", r.row.id, " is not connected to network ", net.second));
  }
  if (name == "host") return absl::PermissionDeniedError("container cannot be disconnected from host network or connected to host network");
  std::string status = statusOf(r.doc);
  if ((status == "running" || status == "paused") && runtime_.onThisMachine()) {
    BERTH_RETURN_IF_ERROR(networks_.detachRunning(r.row.id, networkId));
  }
  nets.erase(name);
  return save(r);
}

void ContainerService::onExit(const std::string& id, runtime::ExitStatus e) {
  std::shared_ptr<Live> l = live(id);
  std::vector<api::backend::WaitCallback> waiters;
  std::vector<std::function<void()>> stopDone;
  bool autoRemove = false;
  {
    std::lock_guard op(l->op);
    absl::StatusOr<Record> rec = resolve(id);
    if (!rec.ok()) return;  // removed meanwhile
    Record& r = *rec;
    runtime_.cleanup(id);
    networks_.tearDownSandbox(id);
    NetworkService::clearRunningSettings(r.doc["NetworkSettings"]);
    l->running = false;
    ++l->generation;
    if (l->killTimer != 0) {
      scheduler_.cancel(l->killTimer);
      l->killTimer = 0;
    }
    ojson& state = r.doc["State"];
    state["Status"] = "exited";
    state["Running"] = false;
    state["Paused"] = false;
    state["Restarting"] = false;
    state["Pid"] = 0;
    state["ExitCode"] = e.exitCode;
    state["OOMKilled"] = e.oomKilled;
    state["FinishedAt"] = e.finishedAt;
    r.row.state = "exited";
    if (e.oomKilled) publish("oom", r);
    // Restart policy (dockerd's): never after a stop or kill by the user.
    const ojson& policy = r.doc["HostConfig"]["RestartPolicy"];
    std::string name = policy.value("Name", "no");
    int maxRetries = policy.value("MaximumRetryCount", 0);
    int restarts = r.doc.value("RestartCount", 0);
    bool restart = !manuallyStopped(r) && !shuttingDown_ && !l->removing &&
                   (name == "always" || name == "unless-stopped" ||
                    (name == "on-failure" && e.exitCode != 0 && (maxRetries == 0 || restarts < maxRetries)));
    if (restart) {
      state["Status"] = "restarting";
      state["Restarting"] = true;
      r.row.state = "restarting";
    }
    (void)save(r);
    publish("die", r, {{"exitCode", strCat(e.exitCode)}});
    waiters = std::move(l->exitWaiters);
    l->exitWaiters.clear();
    stopDone = std::move(l->stopDone);
    l->stopDone.clear();
    autoRemove = r.doc["HostConfig"].value("AutoRemove", false) && !restart && !l->removing;
    if (restart) {
      // dockerd's back-off: 100 ms doubling per restart, reset after 10 s of running.
      int delay = 100;
      for (int i = 0; i < std::min(restarts, 10); ++i) delay *= 2;
      scheduleRestart(id, std::min(delay, 60000));
    }
  }
  for (auto& w : waiters) w(api::backend::WaitResult{e.exitCode, ""});
  for (auto& d : stopDone) d();
  if (autoRemove) {
    absl::Status st = removeContainer(id, {true, true, false});
    if (!st.ok() && !absl::IsNotFound(st)) log::warn("auto-removing a container", {{"container", id.substr(0, 12)}, {"error", std::string(st.message())}});
  }
}

void ContainerService::scheduleRestart(const std::string& id, int delayMs) {
  std::shared_ptr<Live> l = live(id);
  l->restartTimer = scheduler_.after(std::chrono::milliseconds(delayMs), [this, id] {
    std::shared_ptr<Live> l = live(id);
    std::lock_guard op(l->op);
    l->restartTimer = 0;
    absl::StatusOr<Record> r = resolve(id);
    if (!r.ok() || statusOf(r->doc) != "restarting" || shuttingDown_) return;
    r->doc["RestartCount"] = r->doc.value("RestartCount", 0) + 1;
    absl::StatusOr<bool> st = startLocked(*l, *r);
    if (!st.ok()) log::warn("restarting a container", {{"container", id.substr(0, 12)}, {"error", std::string(st.status().message())}});
  });
}

absl::StatusOr<bool> ContainerService::stopContainer(std::string_view name, std::string_view signal,
                                                     std::optional<int> timeoutSeconds, std::function<void()> done) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  std::shared_ptr<Live> l = live(r.row.id);
  std::lock_guard op(l->op);
  BERTH_ASSIGN_OR_RETURN(r, resolve(r.row.id));
  std::string status = statusOf(r.doc);
  setManuallyStopped(r, true);
  if (status == "restarting") {
    // Between restarts: stopping cancels the next one.
    if (l->restartTimer != 0) scheduler_.cancel(l->restartTimer);
    l->restartTimer = 0;
    r.doc["State"]["Status"] = "exited";
    r.doc["State"]["Restarting"] = false;
    r.row.state = "exited";
    BERTH_RETURN_IF_ERROR(save(r));
    return false;
  }
  if (status != "running" && status != "paused") {
    (void)save(r);
    return false;
  }
  std::string sigName(signal);
  if (sigName.empty()) sigName = r.doc["Config"].value("StopSignal", "SIGTERM");
  BERTH_ASSIGN_OR_RETURN(int sig, parseSignal(sigName));
  int timeout = timeoutSeconds.value_or(r.doc["Config"].value("StopTimeout", 10));
  BERTH_RETURN_IF_ERROR(save(r));
  if (status == "paused") (void)runtime_.pause(r.row.id, false);
  l->stopDone.push_back(std::move(done));
  publish("kill", r, {{"signal", strCat(sig)}});
  (void)runtime_.kill(r.row.id, sig);
  if (timeout >= 0 && l->killTimer == 0) {
    std::string id = r.row.id;
    l->killTimer = scheduler_.after(std::chrono::seconds(timeout), [this, id] {
      std::shared_ptr<Live> l = live(id);
      {
        std::lock_guard op(l->op);
        l->killTimer = 0;
      }
      (void)runtime_.kill(id, SIGKILL);
    });
  }
  return true;
}

absl::Status ContainerService::restartContainer(std::string_view name, std::optional<int> timeoutSeconds,
                                                std::function<void(absl::Status)> done) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  std::string id = r.row.id;
  auto startAgain = [this, id, done] {
    absl::StatusOr<bool> st = startContainer(id);
    if (st.ok()) {
      absl::StatusOr<Record> rec = resolve(id);
      if (rec.ok()) publish("restart", *rec);
    }
    done(st.ok() ? absl::OkStatus() : st.status());
  };
  BERTH_ASSIGN_OR_RETURN(bool stopping, stopContainer(id, "", timeoutSeconds, startAgain));
  if (!stopping) startAgain();
  return absl::OkStatus();
}

absl::Status ContainerService::killContainer(std::string_view name, std::string_view signal) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  BERTH_ASSIGN_OR_RETURN(int sig, parseSignal(signal.empty() ? "SIGKILL" : signal));
  std::shared_ptr<Live> l = live(r.row.id);
  std::lock_guard op(l->op);
  BERTH_ASSIGN_OR_RETURN(r, resolve(r.row.id));
  std::string status = statusOf(r.doc);
  if (status != "running" && status != "paused") {
    return absl::FailedPreconditionError(strCat("Cannot kill container: ", name, ": Container ", r.row.id, " is not running"));
  }
  // A kill is a stop by the user for the restart policy (dockerd), unless
  // the signal leaves the process running.
  if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT) {
    setManuallyStopped(r, true);
    BERTH_RETURN_IF_ERROR(save(r));
  }
  if (status == "paused" && sig != SIGKILL) (void)runtime_.pause(r.row.id, false);
  BERTH_RETURN_IF_ERROR(runtime_.kill(r.row.id, sig));
  publish("kill", r, {{"signal", strCat(sig)}});
  return absl::OkStatus();
}

absl::Status ContainerService::pauseContainer(std::string_view name, bool paused) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  std::shared_ptr<Live> l = live(r.row.id);
  std::lock_guard op(l->op);
  BERTH_ASSIGN_OR_RETURN(r, resolve(r.row.id));
  std::string status = statusOf(r.doc);
  if (status != "running" && status != "paused") {
    return absl::FailedPreconditionError(strCat("Container ", r.row.id, " is not running"));
  }
  if (paused && status == "paused") return absl::FailedPreconditionError(strCat("Container ", r.row.id, " is already paused"));
  if (!paused && status != "paused") return absl::FailedPreconditionError(strCat("Container ", r.row.id, " is not paused"));
  BERTH_RETURN_IF_ERROR(runtime_.pause(r.row.id, paused));
  r.doc["State"]["Status"] = paused ? "paused" : "running";
  r.doc["State"]["Paused"] = paused;
  r.row.state = paused ? "paused" : "running";
  BERTH_RETURN_IF_ERROR(save(r));
  publish(paused ? "pause" : "unpause", r);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<api::backend::WaitResult>> ContainerService::waitContainer(
    std::string_view name, api::backend::WaitCondition condition, api::backend::WaitCallback done) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  std::shared_ptr<Live> l = live(r.row.id);
  std::lock_guard op(l->op);
  BERTH_ASSIGN_OR_RETURN(r, resolve(r.row.id));
  std::string status = statusOf(r.doc);
  using C = api::backend::WaitCondition;
  if (condition == C::NotRunning && !isRunningStatus(status)) {
    return api::backend::WaitResult{r.doc["State"].value("ExitCode", int64_t(0)), ""};
  }
  if (condition == C::Removed) {
    l->removedWaiters.push_back(std::move(done));
  } else {
    l->exitWaiters.push_back(std::move(done));
  }
  return std::nullopt;
}

absl::StatusOr<api::backend::AttachTarget> ContainerService::attachContainer(std::string_view name,
                                                                             std::string_view streams) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  std::shared_ptr<Live> l = live(r.row.id);
  std::lock_guard op(l->op);
  BERTH_ASSIGN_OR_RETURN(r, resolve(r.row.id));
  api::backend::AttachTarget t;
  t.tty = r.doc["Config"].value("Tty", false);
  std::string status = statusOf(r.doc);
  if (status == "running" || status == "paused") {
    BERTH_ASSIGN_OR_RETURN(t.stream, runtime_.attach(r.row.id, streams));
    return t;
  }
  // Not running yet: a connection the monitor is handed at the next start.
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) return absl::InternalError("socketpair failed");
  t.stream = UniqueFd(sp[0]);
  BERTH_RETURN_IF_ERROR(writeAll(sp[0], runtime::monitor::frame(runtime::monitor::kHello, streams)));
  l->pendingAttach.emplace_back(sp[1]);
  return t;
}

absl::Status ContainerService::resizeContainer(std::string_view name, unsigned rows, unsigned cols) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  if (statusOf(r.doc) != "running" && statusOf(r.doc) != "paused") {
    return absl::FailedPreconditionError(strCat("Container ", r.row.id, " is not running"));
  }
  return runtime_.resize(r.row.id, rows, cols);
}

void ContainerService::reconcile() {
  absl::StatusOr<std::vector<Record>> records = all();
  if (!records.ok()) return;
  for (Record& r : *records) {
    std::string status = statusOf(r.doc);
    const std::string id = r.row.id;
    if (status == "running" || status == "paused") {
      live(id)->running = true;
      if (runtime_.onThisMachine()) {
        networks_.restoreSandbox({id, r.row.name, r.doc["Config"].value("Hostname", ""), &r.doc, ""});
      } else if (absl::Status st = publishRemotePorts(r); !st.ok() || !(st = save(r)).ok()) {
        log::warn("could not publish a container's ports again", {{"container", id.substr(0, 12)},
                                                                  {"error", std::string(st.message())}});
      }
      runtime_.watch(id, [this, id](runtime::ExitStatus e) { onExit(id, std::move(e)); });
      continue;
    }
    // The restart policy across daemon restarts: always, and
    // unless-stopped when the user did not stop it; a restart that was
    // pending when the daemon went down happens now.
    std::string policy = r.doc["HostConfig"]["RestartPolicy"].value("Name", "no");
    networks_.tearDownSandbox(id);  // a namespace a crash left behind
    bool start = status == "restarting" || (policy == "always" && status == "exited") ||
                 (policy == "unless-stopped" && status == "exited" && !manuallyStopped(r));
    if (!start) continue;
    std::shared_ptr<Live> l = live(id);
    std::lock_guard op(l->op);
    r.doc["State"]["Status"] = "exited";
    absl::StatusOr<bool> st = startLocked(*l, r);
    if (!st.ok()) log::warn("restarting a container", {{"container", id.substr(0, 12)}, {"error", std::string(st.status().message())}});
  }
}

void ContainerService::forgetAll() {
  std::lock_guard lock(mu_);
  absl::StatusOr<std::vector<Record>> records = all();
  if (!records.ok()) return;
  for (const Record& r : *records) {
    if (absl::Status st = db_.deleteContainer(r.row.id); !st.ok()) {
      log::warn("could not forget a container", {{"container", r.row.id.substr(0, 12)}, {"error", std::string(st.message())}});
      continue;
    }
    std::error_code ec;
    std::filesystem::remove_all(strCat(specContext_.containersDir, "/", r.row.id), ec);
    publish("destroy", r);
  }
  std::lock_guard liveLock(liveMu_);
  live_.clear();
}

void ContainerService::reapOlderThan(std::chrono::seconds maxAge) {
  absl::StatusOr<std::vector<Record>> records;
  {
    std::lock_guard lock(mu_);
    records = all();
  }
  if (!records.ok()) return;
  auto now = std::chrono::system_clock::now();
  for (const Record& r : *records) {
    absl::StatusOr<SystemTime> created = parseRfc3339(r.doc.value("Created", ""));
    if (!created.ok() || now - *created <= maxAge) continue;
    log::info("removing a container older than --reapmax", {{"container", r.row.id.substr(0, 12)}});
    if (absl::Status st = removeContainer(r.row.id, {true, true, false}); !st.ok() && !absl::IsNotFound(st)) {
      log::warn("could not reap a container", {{"container", r.row.id.substr(0, 12)}, {"error", std::string(st.message())}});
    }
  }
}

void ContainerService::shutdown() {
  shuttingDown_ = true;
  waitForProbes();
}

}  // namespace berth::engine
