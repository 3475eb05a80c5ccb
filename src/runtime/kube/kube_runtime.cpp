#include "runtime/kube/kube_runtime.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "runtime/kube/bind_source.h"
#include "runtime/kube/copy_ops.h"
#include "runtime/kube/pod_session.h"
#include "runtime/kube/pod_settings.h"
#include "runtime/kube/pod_stream.h"
#include "runtime/kube/stdin_frames.h"
#include "util/log.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/tar_tree.h"
#include "util/timestamp.h"

namespace berth::runtime::kube {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::string kHelperPath = strCat(kHelperDir, "/", kHelperBinary);

const json* containerStatus(const json& pod, const char* list, const char* name) {
  if (!pod.contains("status") || !pod["status"].contains(list)) return nullptr;
  for (const json& s : pod["status"][list]) {
    if (s.value("name", "") == name) return &s;
  }
  return nullptr;
}

// Waiting reasons that will not fix themselves.
bool fatalWaiting(const std::string& reason) {
  return reason == "ErrImagePull" || reason == "ImagePullBackOff" || reason == "InvalidImageName" ||
         reason == "CreateContainerConfigError" || reason == "CreateContainerError" || reason == "ErrImageNeverPull" ||
         reason == "RunContainerError" || reason == "CrashLoopBackOff";
}

// The helper's log follow in the sidecar, from the last `tail` lines (-1: all).
StreamRequest logFollow(std::string pod, int64_t tail) {
  StreamRequest req;
  req.pod = std::move(pod);
  req.container = kSidecarContainer;
  req.command = {kHelperPath, "logs", "--follow"};
  if (tail >= 0) {
    req.command.push_back("--tail");
    req.command.push_back(strCat(tail));
  }
  return req;
}

// A container's log, read through `berth-kubehelper logs --follow` in the
// sidecar: records arrive as the exec's stdout; the helper's marker record
// after them says the log as it was is in, so a reader that does not follow
// gets all of it and no more waiting. (In band: stdout and stderr of an exec
// may arrive in either order.)
class KubeLogCursor final : public LogCursor {
 public:
  KubeLogCursor(const KubeClient& client, std::string pod, int64_t tail) : event_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    StreamRequest req = logFollow(std::move(pod), tail);
    thread_ = std::thread([this, &client, req] {
      absl::StatusOr<int> rc = execInPod(client, req, [this](int channel, std::string_view data) {
        if (channel != 1) return;
        std::lock_guard lock(mu_);
        raw_.append(data);
        absl::Status st = takeLogRecords(raw_, [this](const LogEntry& e) {
          entries_.push_back({e, std::string(e.data)});
        }, &caughtUp_);
        if (!st.ok()) status_ = st;
        cv_.notify_all();
        signal();
      }, &cancel_);
      std::lock_guard lock(mu_);
      ended_ = true;
      if (!rc.ok() && !cancel_ && status_.ok()) status_ = rc.status();
      cv_.notify_all();
      signal();
    });
  }
  ~KubeLogCursor() override {
    cancel_ = true;
    thread_.join();
    ::close(event_);
  }

  absl::Status readAvailable(const std::function<void(const LogEntry&)>& sink) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(60), [&] { return caughtUp_ || ended_; });
    if (!status_.ok() && entries_.empty()) return status_;
    for (auto& [e, data] : entries_) {
      e.data = data;
      sink(e);
    }
    entries_.clear();
    return absl::OkStatus();
  }
  int changeFd() const override { return event_; }
  void drainChange() override {
    uint64_t v;
    (void)!::read(event_, &v, sizeof v);
  }

 private:
  void signal() {
    uint64_t one = 1;
    (void)!::write(event_, &one, sizeof one);
  }
  int event_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string raw_;                                    // the start of a record still on its way
  std::vector<std::pair<LogEntry, std::string>> entries_;  // whole records not read yet (data in .second)
  bool caughtUp_ = false, ended_ = false;
  absl::Status status_;
  std::atomic<bool> cancel_{false};
  std::thread thread_;
};

}  // namespace

MainState mainState(const json* pod) {
  MainState m;
  if (pod == nullptr) {
    m.kind = MainState::kFailed;
    m.message = "the pod was deleted";
    return m;
  }
  // An init container that failed or cannot start.
  if (const json* init = containerStatus(*pod, "initContainerStatuses", "berth-init")) {
    const json& st = init->value("state", json::object());
    if (st.contains("waiting") && fatalWaiting(st["waiting"].value("reason", ""))) {
      m.kind = MainState::kFailed;
      m.message = strCat("berth helper image: ", st["waiting"].value("reason", ""), ": ", st["waiting"].value("message", ""));
      return m;
    }
    if (st.contains("terminated") && st["terminated"].value("exitCode", 0) != 0) {
      m.kind = MainState::kFailed;
      m.message = strCat("berth helper: init failed with exit code ", st["terminated"].value("exitCode", 0));
      return m;
    }
  }
  const json* main = containerStatus(*pod, "containerStatuses", kMainContainer);
  if (main != nullptr) {
    const json& st = main->value("state", json::object());
    if (st.contains("terminated")) {
      const json& t = st["terminated"];
      m.kind = MainState::kExited;
      m.exit.exitCode = t.value("exitCode", 0);
      m.exit.oomKilled = t.value("reason", "") == "OOMKilled";
      std::string finished = t.value("finishedAt", "");
      m.exit.finishedAt = finished.empty() ? formatRfc3339Nano(nowSystem()) : finished;
      m.message = t.value("message", "");
      m.startedAt = t.value("startedAt", "");
      return m;
    }
    if (st.contains("running")) {
      m.kind = MainState::kRunning;
      m.startedAt = st["running"].value("startedAt", "");
      return m;
    }
    if (st.contains("waiting")) {
      std::string reason = st["waiting"].value("reason", "");
      m.message = strCat(reason, ": ", st["waiting"].value("message", ""));
      if (fatalWaiting(reason)) m.kind = MainState::kFailed;
      return m;
    }
  }
  std::string phase = pod->contains("status") ? (*pod)["status"].value("phase", "") : "";
  if (phase == "Failed") {
    m.kind = MainState::kFailed;
    m.message = strCat("the pod failed: ", (*pod)["status"].value("reason", ""), " ", (*pod)["status"].value("message", ""));
    return m;
  }
  if (pod->contains("status") && (*pod)["status"].contains("conditions")) {
    for (const json& c : (*pod)["status"]["conditions"]) {
      if (c.value("type", "") == "PodScheduled" && c.value("status", "") == "False") {
        m.message = strCat("not scheduled: ", c.value("reason", ""), ": ", c.value("message", ""));
      }
    }
  }
  return m;
}

absl::StatusOr<std::unique_ptr<KubeRuntime>> KubeRuntime::create(std::unique_ptr<KubeClient> client,
                                                                 KubeRuntimeOptions options) {
  std::unique_ptr<KubeRuntime> rt(new KubeRuntime(std::move(client), std::move(options)));
  if (rt->options_.lockTimeoutSeconds > 0) {
    BERTH_ASSIGN_OR_RETURN(rt->lock_, NamespaceLock::acquire(*rt->client_, rt->options_.pod.instance,
                                                            std::chrono::seconds(rt->options_.lockTimeoutSeconds)));
  }
  if (rt->options_.pruneStart) {
    for (std::string_view kind : kBerthKinds) {
      BERTH_ASSIGN_OR_RETURN(std::vector<json> objects, rt->berthObjects(kind));
      for (const json& o : objects) {
        std::string name = o["metadata"].value("name", "");
        kind == "pods" ? rt->discard(name) : rt->removeObject(kind, name);
      }
      log::info("pruned the namespace's Berth objects (--prune-start)",
                {{"kind", std::string(kind)}, {"count", strCat(objects.size())}});
    }
  }
  BERTH_RETURN_IF_ERROR(rt->informer_.start());
  // Docker sockets of pods an earlier daemon started.
  for (const std::string& name : rt->informer_.names()) {
    std::optional<json> pod = rt->informer_.get(name);
    if (pod && pod->contains("metadata") && (*pod)["metadata"].value("annotations", json::object()).contains(kSocketAnnotation)) {
      rt->serveSocket(name);
    }
  }
  if (rt->options_.reapMaxSeconds > 0) rt->reaper_ = std::thread([r = rt.get()] { r->reapLoop(); });
  return rt;
}

bool reapable(const json& object, const std::string& instance, int64_t reapMaxSeconds,
              std::chrono::system_clock::time_point now) {
  if (reapMaxSeconds <= 0 || !object.contains("metadata")) return false;
  const json& meta = object["metadata"];
  if (!meta.contains("labels") || !meta["labels"].is_object()) return false;
  std::string owner = meta["labels"].value(kInstanceLabel, "");
  if (owner.empty() || owner == instance) return false;
  absl::StatusOr<SystemTime> created = parseRfc3339(meta.value("creationTimestamp", ""));
  return created.ok() && now - *created > std::chrono::seconds(reapMaxSeconds + 15 * 60);
}

absl::StatusOr<std::vector<json>> KubeRuntime::berthObjects(std::string_view kind) {
  BERTH_ASSIGN_OR_RETURN(json list, client_->get(strCat(client_->corePath(kind), "?labelSelector=", queryEscape(kInstanceLabel))));
  std::vector<json> out;
  if (list.contains("items") && list["items"].is_array()) {
    for (json& p : list["items"]) out.push_back(std::move(p));
  }
  return out;
}

void KubeRuntime::removeObject(std::string_view kind, const std::string& name) {
  json options = kind == "pods" ? json{{"gracePeriodSeconds", 0}} : json(nullptr);
  absl::StatusOr<json> r = client_->remove(client_->corePath(kind, name), options);
  if (!r.ok() && !absl::IsNotFound(r.status())) {
    log::warn("could not remove a Berth object", {{"kind", std::string(kind)}, {"name", name},
                                                  {"error", std::string(r.status().message())}});
  }
}

void KubeRuntime::discard(const std::string& pod) {
  for (std::string_view kind : {"pods", "services", "configmaps"}) removeObject(kind, pod);
}

void KubeRuntime::removeEverything() {
  relays_.stopAll();
  for (const std::string& pod : informer_.names()) discard(pod);
}

void KubeRuntime::serveSocket(const std::string& pod) {
  relays_.serve(pod, [this, pod] { return informer_.get(pod).has_value(); });
}

void KubeRuntime::reapLoop() {
  auto every = std::chrono::seconds(std::min<int64_t>(options_.reapMaxSeconds, 60));
  std::unique_lock lock(reapMu_);
  while (!reapWake_.wait_for(lock, every, [this] { return stopping_; })) {
    lock.unlock();
    if (options_.reapOwn) options_.reapOwn();
    auto now = std::chrono::system_clock::now();
    // Pods with their Services and ConfigMaps; then what a crash left apart from a pod, and claims.
    for (std::string_view kind : kBerthKinds) {
      absl::StatusOr<std::vector<json>> objects = berthObjects(kind);
      if (!objects.ok()) {
        log::warn("the reaper could not list", {{"kind", std::string(kind)}, {"error", std::string(objects.status().message())}});
        continue;
      }
      for (const json& o : *objects) {
        if (!reapable(o, options_.pod.instance, options_.reapMaxSeconds, now)) continue;
        std::string name = o["metadata"].value("name", "");
        log::info("reaping another Berth's leftover", {{"kind", std::string(kind)}, {"name", name}});
        kind == "pods" ? discard(name) : removeObject(kind, name);
      }
    }
    lock.lock();
  }
}

KubeRuntime::KubeRuntime(std::unique_ptr<KubeClient> client, KubeRuntimeOptions options)
    : client_(std::move(client)),
      options_(std::move(options)),
      informer_(*client_, strCat(kInstanceLabel, "=", options_.pod.instance)) {}

KubeRuntime::~KubeRuntime() {
  {
    std::lock_guard lock(reapMu_);
    stopping_ = true;
  }
  reapWake_.notify_all();
  if (reaper_.joinable()) reaper_.join();
  // Sessions call back into this runtime until their threads end.
  {
    std::lock_guard lock(mu_);
    for (auto& [key, e] : execs_) {
      if (e.session) e.session->cancel();
    }
    for (auto& [id, list] : attaches_) {
      for (auto& w : list) {
        if (auto sp = w.lock()) sp->cancel();
      }
    }
  }
  relays_.stopAll();
  tunnels_.closeAll();
  sessions_.waitIdle();
}

absl::StatusOr<UniqueFd> KubeRuntime::dialPort(const std::string& id, uint16_t port) {
  std::string pod = podOf(id);
  if (options_.ports == PortAccess::kPortForward) return tunnels_.open(pod, port);
  std::optional<json> p = informer_.get(pod);
  std::string ip = p && p->contains("status") ? (*p)["status"].value("podIP", "") : "";
  return connectStarted(ip, port);
}

absl::Status KubeRuntime::deletePod(const std::string& pod) {
  absl::StatusOr<json> r = client_->remove(client_->corePath("pods", pod), json{{"gracePeriodSeconds", 0}});
  if (!r.ok() && !absl::IsNotFound(r.status())) return r.status();
  auto [last, gone] = informer_.waitUntil(pod, [](const json* p) { return p == nullptr; },
                                          Clock::now() + std::chrono::seconds(60));
  if (!gone) return absl::DeadlineExceededError(strCat("kubernetes: pod ", pod, " is still there a minute after its deletion"));
  return absl::OkStatus();
}

absl::StatusOr<int> KubeRuntime::helper(const std::string& pod, const char* container, std::vector<std::string> args,
                                        std::string* output, std::string* errors) {
  StreamRequest req;
  req.pod = pod;
  req.container = container;
  req.command = {kHelperPath};
  req.command.insert(req.command.end(), args.begin(), args.end());
  std::string collected;
  absl::StatusOr<int> rc = execInPod(*client_, req, [&](int channel, std::string_view data) {
    (channel == 2 && errors != nullptr ? *errors : collected).append(data);
  });
  if (output != nullptr) *output = collected;
  return rc;
}

absl::Status KubeRuntime::putConfigMap(const json& configMap) {
  absl::Status st = client_->post(client_->corePath("configmaps"), configMap).status();
  if (!absl::IsAlreadyExists(st)) return st;
  // An earlier run's: its files may have changed since.
  std::string name = configMap["metadata"]["name"];
  absl::StatusOr<json> gone = client_->remove(client_->corePath("configmaps", name));
  if (!gone.ok() && !absl::IsNotFound(gone.status())) return gone.status();
  return client_->post(client_->corePath("configmaps"), configMap).status();
}

absl::StatusOr<std::optional<StoredVolume>> KubeRuntime::createVolume(const std::string& name,
                                                                       const std::map<std::string, std::string>& options) {
  BERTH_ASSIGN_OR_RETURN(std::optional<ClaimRequest> claim, claimFor(options_.pod, name, options, options_.volumes));
  if (!claim) return std::nullopt;
  absl::Status st = client_->post(client_->corePath("persistentvolumeclaims"),
                                  buildVolumeClaim(options_.pod, name, *claim)).status();
  // Already there: this daemon's, kept when its record went (its data with it).
  if (!st.ok() && !absl::IsAlreadyExists(st)) return st;
  return StoredVolume{claim->name,
                      {{"PersistentVolumeClaim", claim->name},
                       {"StorageClass", claim->storageClass},
                       {"Size", claim->size},
                       {"AccessMode", claim->accessMode}}};
}

absl::Status KubeRuntime::removeVolume(const std::string& handle) {
  absl::StatusOr<json> gone = client_->remove(client_->corePath("persistentvolumeclaims", handle));
  return gone.ok() || absl::IsNotFound(gone.status()) ? absl::OkStatus() : gone.status();
}

absl::StatusOr<Started> KubeRuntime::start(const ContainerSpec& spec, StartOptions options) {
  std::string name = podOf(spec.id);
  // The pod of an earlier run (restartPolicy Never: a new run is a new pod).
  if (informer_.get(name)) BERTH_RETURN_IF_ERROR(deletePod(name));
  PodRun run;
  run.openStdin = options.openStdin;
  run.stdinOnce = options.stdinOnce;
  std::string socketPath;  // the sidecar's Docker socket, when the container has one
  // Binds are read here, only under --bind-root, and carried into the pod.
  std::map<size_t, UniqueFd> bindDirs;
  std::map<size_t, std::string> bindFiles;
  size_t fileBytes = 0;
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const Mount& m = spec.mounts[i];
    if (m.type == "tmpfs" || !m.volume.empty()) continue;
    if (isDockerSocketBind(m.source, m.destination)) {
      if (options_.disableDind) {
        return absl::InvalidArgumentError(strCat("this Berth serves no Docker socket in pods (--disable-dind): ",
                                                 m.source, ":", m.destination));
      }
      if (options_.apiSocket.empty()) {
        return absl::FailedPreconditionError(strCat("a Docker socket in a pod (", m.destination, ") needs Berth to listen "
                                                    "on a unix socket (-H unix://…)"));
      }
      run.binds[i].socket = true;
      socketPath = sidecarSocketPath(m.destination);
      continue;
    }
    BERTH_ASSIGN_OR_RETURN(BindSource source, openBindSource(m.source, options_.bindRoots, kConfigMapBytes - fileBytes));
    run.binds[i] = {source.directory, source.mode};
    if (source.directory) {
      bindDirs[i] = std::move(source.dir);
    } else {
      fileBytes += source.content.size();
      bindFiles[i] = std::move(source.content);
    }
  }
  // The process waits until the copies have landed and its Docker socket exists.
  run.gate = !options.copies.empty() || !bindDirs.empty() || !socketPath.empty();
  BERTH_ASSIGN_OR_RETURN(PodOptions podOptions, containerPodOptions(spec, options_.pod));
  BERTH_ASSIGN_OR_RETURN(json pod, buildPod(spec, podOptions, run));
  if (!bindFiles.empty()) BERTH_RETURN_IF_ERROR(putConfigMap(buildBindFiles(spec, options_.pod, bindFiles)));
  BERTH_RETURN_IF_ERROR(client_->post(client_->corePath("pods"), pod).status());
  // Its ports for in-cluster clients; kept across restarts (same name, same selector).
  if (json service = buildService(spec, options_.pod); !service.is_null()) {
    absl::Status st = client_->post(client_->corePath("services"), service).status();
    if (!st.ok() && !absl::IsAlreadyExists(st)) {
      (void)deletePod(name);
      return st;
    }
  }
  auto deadline = Clock::now() + std::chrono::seconds(options_.startTimeoutSeconds);
  // The watch may not have delivered the new pod yet: absent means deleted
  // only once it has been seen.
  bool seen = false;
  auto [last, decided] = informer_.waitUntil(name, [&seen](const json* p) {
    seen = seen || p != nullptr;
    return seen && mainState(p).kind != MainState::kPending;
  }, deadline);
  const json* lastPod = last ? &*last : nullptr;
  MainState m = mainState(lastPod);
  if (!decided || m.kind == MainState::kFailed) {
    (void)deletePod(name);
    if (!decided) {
      return absl::DeadlineExceededError(strCat("the pod did not start within ", options_.startTimeoutSeconds, "s",
                                                m.message.empty() ? "" : ": ", m.message));
    }
    return absl::FailedPreconditionError(m.message);
  }
  // Its Docker socket answers from now on (clients that came earlier wait in the sidecar).
  if (m.kind == MainState::kRunning && !socketPath.empty()) serveSocket(name);
  // Copies made before start land while the helper holds the process back.
  if (run.gate && m.kind == MainState::kRunning) {
    absl::Status copied;
    for (auto& [i, dir] : bindDirs) {
      absl::StatusOr<std::unique_ptr<PodStream>> stream = openPut(name, kSidecarContainer, bindStagingDir(i), {});
      copied = stream.ok() ? putTree(**stream, dir.get(), spec.mounts[i].destination) : stream.status();
      if (!copied.ok()) break;
    }
    if (copied.ok()) copied = copyBeforeStart(spec.id, options.copies);
    if (copied.ok()) {
      std::vector<std::string> release = {"release"};
      if (!socketPath.empty()) release.insert(release.end(), {"--when", socketPath});
      std::string out;
      absl::StatusOr<int> rc = helper(name, kSidecarContainer, release, &out);
      if (!rc.ok() || *rc != 0) copied = rc.ok() ? absl::InternalError(strCat("releasing the process: ", out)) : rc.status();
    }
    if (!copied.ok()) {
      (void)deletePod(name);
      return absl::Status(copied.code(), strCat("copying files into the container before it starts: ", copied.message()));
    }
  }
  // The helper could not run the process: runc's text, as a failed start.
  // "Running" only says the helper runs, so ask it whether its exec worked.
  bool execFailure = m.kind == MainState::kExited && (m.exit.exitCode == 126 || m.exit.exitCode == 127);
  if (m.kind == MainState::kRunning || (execFailure && !m.message.starts_with("exec: "))) {
    std::string out;
    absl::StatusOr<int> rc = helper(name, kSidecarContainer, {"started"}, &out);
    if (rc.ok() && (*rc == 126 || *rc == 127) && out.starts_with("exec: ")) {
      m.kind = MainState::kExited;
      m.exit.exitCode = *rc;
      m.message = out;
    }
  }
  if (m.kind == MainState::kExited && (m.exit.exitCode == 126 || m.exit.exitCode == 127) &&
      m.message.starts_with("exec: ")) {
    return absl::FailedPreconditionError(m.message);
  }
  // Connections made before start get the whole log from its beginning.
  for (UniqueFd& a : options.attachments) {
    absl::StatusOr<std::string> streams = PodSession::readHello(a.get());
    absl::Status st = streams.ok() ? attachSession(spec.id, std::move(a), *streams, -1) : streams.status();
    if (!st.ok()) log::warn("attach to a starting pod failed", {{"pod", name}, {"error", std::string(st.message())}});
  }
  Started s;
  s.pid = 1;  // the helper, pid 1 of the container's namespace (no host pid to show)
  if (lastPod != nullptr && lastPod->contains("status")) s.ipAddress = (*lastPod)["status"].value("podIP", "");
  s.startedAt = m.startedAt;
  return s;
}

namespace {

bool isExecKey(const std::string& key) { return key.find("/exec/") != std::string::npos; }

}  // namespace

absl::StatusOr<Started> KubeRuntime::exec(const std::string& containerId, const std::string& execId,
                                          const ContainerSpec& process, StartOptions options) {
  std::string key = execKey(containerId, execId);
  PodSession::Parts parts;
  parts.kind = PodSession::Kind::kExec;
  parts.tty = process.terminal;
  parts.framedStdin = options.openStdin && !process.terminal;
  if (!options.attachments.empty()) {
    parts.connection = std::move(options.attachments.front());
    BERTH_ASSIGN_OR_RETURN(parts.streams, PodSession::readHello(parts.connection.get()));
  }
  StreamRequest req;
  req.pod = podOf(containerId);
  req.container = kMainContainer;
  req.tty = process.terminal;
  req.stdin = options.openStdin || process.terminal;  // without stdin the kubelet's terminal gives no output
  req.command = {kHelperPath, "exec"};
  if (parts.framedStdin) req.command.push_back("--framed-stdin");
  if (!process.cwd.empty()) req.command.insert(req.command.end(), {"--cwd", process.cwd});
  if (!process.user.empty()) req.command.insert(req.command.end(), {"--user", process.user});
  for (const std::string& kv : process.env) req.command.insert(req.command.end(), {"--env", kv});
  req.command.push_back("--");
  req.command.insert(req.command.end(), process.args.begin(), process.args.end());
  absl::StatusOr<std::unique_ptr<PodStream>> stream = PodStream::open(*client_, req);
  if (!stream.ok()) {
    if (absl::IsNotFound(stream.status()) || absl::IsInvalidArgument(stream.status())) {
      return absl::FailedPreconditionError(strCat("Container ", containerId, " is not running"));
    }
    return stream.status();
  }
  parts.output = std::move(*stream);
  std::lock_guard lock(mu_);
  execs_[key].session = PodSession::start(std::move(parts), sessions_, [this, key](const absl::StatusOr<int>& rc) {
    return execEnded(key, rc);
  });
  return Started{};
}

int KubeRuntime::execEnded(const std::string& key, const absl::StatusOr<int>& rc) {
  // Without a status the pod (and the process with it) went away, or the exec was abandoned.
  ExitStatus e{rc.ok() ? *rc : 137, formatRfc3339Nano(nowSystem()), false};
  if (!rc.ok() && !absl::IsCancelled(rc.status())) {
    log::warn("exec ended without its exit code", {{"exec", key}, {"error", std::string(rc.status().message())}});
  }
  std::vector<std::function<void(ExitStatus)>> watchers;
  {
    std::lock_guard lock(mu_);
    Exec& x = execs_[key];
    x.exit = e;
    watchers.swap(x.watchers);
  }
  for (auto& w : watchers) w(e);
  return e.exitCode;
}

std::optional<ExitStatus> exitOf(const json* pod) {
  MainState m = mainState(pod);
  if (m.kind == MainState::kExited) return m.exit;
  // Deleted or failed behind our back (evicted, say): gone as if killed.
  if (m.kind == MainState::kFailed) return ExitStatus{137, formatRfc3339Nano(nowSystem()), false};
  return std::nullopt;
}

std::optional<ExitStatus> KubeRuntime::exited(const std::string& id) {
  if (isExecKey(id)) {
    std::lock_guard lock(mu_);
    auto it = execs_.find(id);
    return it == execs_.end() ? std::nullopt : it->second.exit;
  }
  std::optional<json> pod = informer_.get(podOf(id));
  return exitOf(pod ? &*pod : nullptr);
}

void KubeRuntime::watch(const std::string& id, std::function<void(ExitStatus)> onExit) {
  if (isExecKey(id)) {
    std::unique_lock lock(mu_);
    Exec& x = execs_[id];
    if (!x.exit) {
      x.watchers.push_back(std::move(onExit));
      return;
    }
    ExitStatus e = *x.exit;
    lock.unlock();
    onExit(e);
    return;
  }
  auto once = std::make_shared<std::atomic<bool>>(false);
  informer_.subscribe(podOf(id), [onExit = std::move(onExit), once](const json* pod) {
    std::optional<ExitStatus> e = exitOf(pod);
    if (!e) return false;
    if (!once->exchange(true)) onExit(*e);
    return true;
  });
}

absl::Status KubeRuntime::kill(const std::string& id, int signal) {
  if (isExecKey(id)) {
    // pods/exec has no way to signal its process: the session is given up (a health check's timeout).
    std::lock_guard lock(mu_);
    auto it = execs_.find(id);
    if (it == execs_.end() || it->second.exit || !it->second.session) {
      return absl::FailedPreconditionError(strCat("exec ", id, " is not running"));
    }
    it->second.session->cancel();
    return absl::OkStatus();
  }
  std::string out;
  absl::StatusOr<int> rc = helper(podOf(id), kMainContainer, {"signal", strCat(signal)}, &out);
  if (!rc.ok()) {
    if (absl::IsNotFound(rc.status()) || absl::IsInvalidArgument(rc.status()) || absl::IsFailedPrecondition(rc.status())) {
      return absl::FailedPreconditionError(strCat("container ", id, " is not running"));
    }
    return rc.status();
  }
  if (*rc == 3) return absl::FailedPreconditionError(strCat("container ", id, " is not running"));
  if (*rc != 0) return absl::InternalError(strCat("signal ", signal, ": ", trim(out)));
  return absl::OkStatus();
}

absl::Status KubeRuntime::attachSession(const std::string& id, UniqueFd connection, std::string streams, int64_t tail) {
  std::string pod = podOf(id);
  std::optional<json> p = informer_.get(pod);
  if (!p) return absl::FailedPreconditionError(strCat("Container ", id, " is not running"));
  bool tty = false, podStdin = false;
  if (p->contains("spec")) {
    for (const json& c : (*p)["spec"].value("containers", json::array())) {
      if (c.value("name", "") != kMainContainer) continue;
      tty = c.value("tty", false);
      podStdin = c.value("stdin", false);
    }
  }
  PodSession::Parts parts;
  parts.kind = PodSession::Kind::kAttach;
  parts.connection = std::move(connection);
  parts.tty = tty;
  BERTH_ASSIGN_OR_RETURN(parts.output, PodStream::open(*client_, logFollow(pod, tail)));
  if (streams.find('i') != std::string::npos && podStdin) {
    StreamRequest in;
    in.pod = pod;
    in.container = kMainContainer;
    in.stdin = true;
    in.stdout = in.stderr = false;
    in.tty = tty;
    BERTH_ASSIGN_OR_RETURN(parts.input, PodStream::open(*client_, in));
  }
  parts.streams = std::move(streams);
  std::shared_ptr<PodSession> session = PodSession::start(std::move(parts), sessions_, nullptr);
  {
    std::lock_guard lock(mu_);
    auto& list = attaches_[id];
    std::erase_if(list, [](const std::weak_ptr<PodSession>& w) { return w.expired(); });
    list.push_back(session);
  }
  watch(id, [w = std::weak_ptr<PodSession>(session)](ExitStatus e) {
    if (auto sp = w.lock()) sp->containerExited(e.exitCode);
  });
  // An attach sees what is written once it returns (the client may send
  // stdin at once, and the answer must not slip past the log's follow).
  if (tail == 0 && !session->waitCaughtUp(std::chrono::seconds(30))) {
    session->cancel();
    return absl::UnavailableError(strCat("kubernetes: the log of pod ", pod, " could not be followed"));
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> KubeRuntime::attach(const std::string& id, std::string_view streams) {
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) return absl::InternalError("socketpair failed");
  UniqueFd ours(sp[1]), engines(sp[0]);
  BERTH_RETURN_IF_ERROR(attachSession(id, std::move(ours), std::string(streams), 0));
  return engines;
}

absl::Status KubeRuntime::resize(const std::string& id, unsigned rows, unsigned cols) {
  std::shared_ptr<PodSession> session;
  {
    std::lock_guard lock(mu_);
    if (isExecKey(id)) {
      auto it = execs_.find(id);
      if (it == execs_.end() || it->second.exit || !it->second.session) {
        return absl::FailedPreconditionError(strCat("exec ", id, " is not running"));
      }
      session = it->second.session;
    } else {
      for (auto& w : attaches_[id]) {
        if (auto sp = w.lock()) session = sp;  // the newest attach with a stream for stdin takes it
      }
    }
  }
  if (session && session->resize(rows, cols)) return absl::OkStatus();
  if (isExecKey(id)) return absl::OkStatus();
  // No attach session that could carry it: a short stream of its own.
  StreamRequest req;
  req.pod = podOf(id);
  req.container = kMainContainer;
  req.tty = true;
  absl::StatusOr<std::unique_ptr<PodStream>> stream = PodStream::open(*client_, req);
  if (!stream.ok()) return absl::FailedPreconditionError(strCat("Container ", id, " is not running"));
  (*stream)->resize(rows, cols);
  (*stream)->finish();
  (void)(*stream)->run([](int, std::string_view) {});
  return absl::OkStatus();
}

absl::Status KubeRuntime::pause(const std::string&, bool) {
  return absl::FailedPreconditionError("pause is not supported by the kube backend: Kubernetes cannot freeze a pod");
}

absl::StatusOr<std::vector<pid_t>> KubeRuntime::pids(const std::string&) {
  return absl::UnimplementedError("docker top is not available on the kube backend yet");
}

absl::StatusOr<ResourceStats> KubeRuntime::stats(const std::string&) {
  return absl::UnimplementedError("docker stats is not available on the kube backend yet");
}

absl::Status KubeRuntime::withRootfs(const std::string&, const ContainerSpec&, const std::function<absl::Status(int)>&) {
  return absl::UnimplementedError("the kube backend has no container root on this machine: use statPath, archivePath, copyIn");
}

namespace {

bool fromHex(std::string_view h, std::string& out) {
  out.clear();
  if (h == "-") return true;
  if (h.size() % 2 != 0) return false;
  auto nibble = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
  for (size_t i = 0; i < h.size(); i += 2) {
    int hi = nibble(h[i]), lo = nibble(h[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

// Sends the tree below `dirFd` as copy_ops entries named `prefix` + name.
// Hard links within the tree stay links: `seen` holds each inode's first name.
absl::Status sendTree(PodStream& stream, int dirFd, const std::string& prefix,
                      std::map<std::pair<dev_t, ino_t>, std::string>& seen) {
  namespace ops = copyops;
  for (const std::string& n : sortedEntries(dirFd)) {
    struct stat st {};
    if (::fstatat(dirFd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    ops::Entry e;
    e.name = prefix + n;
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.mtime = st.st_mtim.tv_sec;
    if (S_ISDIR(st.st_mode)) {
      e.type = ops::kDir;
      stream.write(stdinFrame(ops::encodeHeader(e)));
      UniqueFd sub(::openat(dirFd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) return absl::InternalError(strCat("open ", e.name, ": ", strerror(errno)));
      BERTH_RETURN_IF_ERROR(sendTree(stream, sub.get(), e.name + "/", seen));
    } else if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t len = ::readlinkat(dirFd, n.c_str(), buf, sizeof buf);
      if (len < 0) return absl::InternalError(strCat("readlink ", e.name, ": ", strerror(errno)));
      e.type = ops::kSymlink;
      e.link.assign(buf, size_t(len));
      stream.write(stdinFrame(ops::encodeHeader(e)));
    } else if (S_ISREG(st.st_mode)) {
      auto key = std::make_pair(st.st_dev, st.st_ino);
      if (st.st_nlink > 1 && seen.contains(key)) {
        e.type = ops::kHardlink;
        e.link = seen[key];
        stream.write(stdinFrame(ops::encodeHeader(e)));
        continue;
      }
      seen[key] = e.name;
      UniqueFd fd(::openat(dirFd, n.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd.valid()) return absl::InternalError(strCat("open ", e.name, ": ", strerror(errno)));
      e.type = ops::kFile;
      e.size = uint64_t(st.st_size);
      stream.write(stdinFrame(ops::encodeHeader(e)));
      std::string buf(64 * 1024, '\0');
      uint64_t left = e.size;
      while (left > 0) {
        ssize_t r = ::read(fd.get(), buf.data(), size_t(std::min<uint64_t>(left, buf.size())));
        if (r <= 0) return absl::InternalError(strCat("read ", e.name, ": ", r < 0 ? strerror(errno) : "it shrank"));
        stream.write(stdinFrame(std::string_view(buf.data(), size_t(r))));
        left -= uint64_t(r);
      }
    }  // devices, fifos, sockets: the unpacker made none
  }
  return absl::OkStatus();
}

// The cluster's refusal of an exec into a container that is not running, in docker cp's terms.
absl::Status notRunningForCopy(const std::string& id, const absl::Status& st) {
  if (absl::IsNotFound(st) || absl::IsInvalidArgument(st) || absl::IsFailedPrecondition(st)) {
    return absl::FailedPreconditionError(strCat("container ", id, " is not running: the kube backend copies files only "
                                                "while a container runs (or into it before its start)"));
  }
  return st;
}

}  // namespace

absl::Status KubeRuntime::requireRunning(const std::string& id) {
  std::optional<json> pod = informer_.get(podOf(id));
  if (mainState(pod ? &*pod : nullptr).kind == MainState::kRunning) return absl::OkStatus();
  return notRunningForCopy(id, absl::FailedPreconditionError("not running"));
}

absl::StatusOr<int> KubeRuntime::helperInRunning(const std::string& id, std::vector<std::string> args,
                                                 std::string* output, std::string* errors) {
  BERTH_RETURN_IF_ERROR(requireRunning(id));
  absl::StatusOr<int> rc = helper(podOf(id), kMainContainer, std::move(args), output, errors);
  if (!rc.ok()) return notRunningForCopy(id, rc.status());
  return rc;
}

absl::StatusOr<PathInfo> KubeRuntime::statPath(const std::string& id, const std::string& path) {
  std::string out, err;
  BERTH_ASSIGN_OR_RETURN(int rc, helperInRunning(id, {"archive", "stat", path}, &out, &err));
  if (rc == 2) return absl::NotFoundError(std::string(trim(err)));
  std::vector<std::string_view> f = split(trim(out), ' ');
  PathInfo p;
  if (rc != 0 || f.size() != 5 || !parseInt(f[0], p.mode) || !parseInt(f[1], p.size) || !parseInt(f[2], p.mtimeNanos) ||
      !fromHex(f[3], p.name) || !fromHex(f[4], p.linkTarget)) {
    return absl::InternalError(strCat("the kube helper's stat of ", path, " failed: ", trim(err)));
  }
  return p;
}

absl::Status KubeRuntime::archivePath(const std::string& id, const std::string& path, int outFd) {
  BERTH_RETURN_IF_ERROR(requireRunning(id));
  StreamRequest req;
  req.pod = podOf(id);
  req.container = kMainContainer;
  req.command = {kHelperPath, "archive", "get", path};
  std::string err;
  absl::Status written;
  absl::StatusOr<int> rc = execInPod(*client_, req, [&](int channel, std::string_view data) {
    if (channel == 2) {
      err.append(data);
    } else if (written.ok()) {
      written = writeAll(outFd, data);
    }
  });
  if (!rc.ok()) return notRunningForCopy(id, rc.status());
  BERTH_RETURN_IF_ERROR(written);
  if (*rc == 2) return absl::NotFoundError(std::string(trim(err)));
  if (*rc != 0) return absl::InternalError(strCat("the kube helper's archive of ", path, " failed: ", trim(err)));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PodStream>> KubeRuntime::openPut(const std::string& pod, const char* container,
                                                                 const std::string& path, const CopyOptions& options) {
  StreamRequest req;
  req.pod = pod;
  req.container = container;
  req.stdin = true;
  req.command = {kHelperPath, "archive", "put", path};
  if (options.noOverwriteDirNonDir) req.command.push_back("--no-overwrite-dir-non-dir");
  if (options.owner) req.command.insert(req.command.end(), {"--owner", strCat(options.owner->first, ":", options.owner->second)});
  return PodStream::open(*client_, req);
}

absl::Status KubeRuntime::putTree(PodStream& stream, int treeFd, const std::string& path) {
  std::string err;
  absl::StatusOr<int> rc;
  std::thread reader([&] { rc = stream.run([&err](int channel, std::string_view d) { if (channel == 2) err.append(d); }); });
  std::map<std::pair<dev_t, ino_t>, std::string> seen;
  absl::Status sent = sendTree(stream, treeFd, "", seen);
  if (sent.ok()) {
    stream.write(stdinFrame(""));
  } else {
    stream.cancel();  // the helper sees its input break off, not an end
  }
  reader.join();
  BERTH_RETURN_IF_ERROR(sent);
  if (!rc.ok()) return rc.status();
  if (*rc == 2) return absl::NotFoundError(std::string(trim(err)));
  if (*rc == 3) return absl::InvalidArgumentError(std::string(trim(err)));
  if (*rc == 4) return absl::InvalidArgumentError(strCat("extracting the archive: ", trim(err)));
  if (*rc != 0) return absl::InternalError(strCat("the kube helper's copy into ", path, " failed: ", trim(err)));
  return absl::OkStatus();
}

absl::Status KubeRuntime::copyIn(const std::string& id, const std::string& path, int treeFd, const CopyOptions& options) {
  BERTH_RETURN_IF_ERROR(requireRunning(id));
  absl::StatusOr<std::unique_ptr<PodStream>> stream = openPut(podOf(id), kMainContainer, path, options);
  if (!stream.ok()) return notRunningForCopy(id, stream.status());
  return putTree(**stream, treeFd, path);
}

absl::Status KubeRuntime::copyBeforeStart(const std::string& id, const std::vector<PendingCopy>& copies) {
  for (const PendingCopy& c : copies) {
    UniqueFd tree(::open(c.tree.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!tree.valid()) return absl::InternalError(strCat("the copy kept for ", c.path, " is gone: ", strerror(errno)));
    BERTH_RETURN_IF_ERROR(copyIn(id, c.path, tree.get(), c.options));
  }
  return absl::OkStatus();
}

std::vector<std::string> KubeRuntime::limitWarnings(const Resources& r) const {
  std::vector<std::string> w;
  if (r.cpuShares > 0 || !r.cpusetCpus.empty() || !r.cpusetMems.empty() || r.pidsLimit > 0 || r.memoryReservation > 0) {
    w.push_back("the kube backend applies only memory (-m) and CPU (--cpus) limits; the others are ignored");
  }
  return w;
}

absl::Status KubeRuntime::updateResources(const std::string&, const Resources&, std::vector<std::string>&) {
  return absl::FailedPreconditionError("docker update is not supported by the kube backend: a pod's resources are fixed");
}

std::string KubeRuntime::writableLayer(const std::string&) { return ""; }

absl::StatusOr<std::unique_ptr<LogCursor>> KubeRuntime::openLogs(const std::string& id, int64_t tail) {
  std::string pod = podOf(id);
  if (!informer_.get(pod)) {
    // Never started (or removed): no log yet, as for a created container.
    struct Empty final : LogCursor {
      absl::Status readAvailable(const std::function<void(const LogEntry&)>&) override { return absl::OkStatus(); }
      int changeFd() const override { return -1; }
      void drainChange() override {}
    };
    return std::unique_ptr<LogCursor>(new Empty());
  }
  return std::unique_ptr<LogCursor>(new KubeLogCursor(*client_, pod, tail));
}

void KubeRuntime::cleanup(const std::string&) {}  // the pod stays until rm: its log is read from it

absl::Status KubeRuntime::remove(const std::string& id) {
  if (isExecKey(id)) {  // its exit is settled: forget it (its session ends on its own)
    std::lock_guard lock(mu_);
    execs_.erase(id);
    return absl::OkStatus();
  }
  // Attached clients get the end of the log before the pod (and the log with it) goes: `docker run --rm`.
  std::vector<std::shared_ptr<PodSession>> attached;
  {
    std::lock_guard lock(mu_);
    for (auto& w : attaches_[id]) {
      if (auto sp = w.lock()) attached.push_back(std::move(sp));
    }
    attaches_.erase(id);
  }
  std::optional<ExitStatus> exit = exited(id);
  for (auto& s : attached) {
    if (exit) s->containerExited(exit->exitCode);
    if (!s->waitEnded(std::chrono::seconds(5))) s->cancel();
  }
  std::string pod = podOf(id);
  relays_.stop(pod);
  for (const char* kind : {"services", "configmaps"}) {
    absl::StatusOr<json> gone = client_->remove(client_->corePath(kind, pod));
    if (!gone.ok() && !absl::IsNotFound(gone.status())) return gone.status();
  }
  if (!informer_.get(pod)) return absl::OkStatus();
  return deletePod(pod);
}

}  // namespace berth::runtime::kube
