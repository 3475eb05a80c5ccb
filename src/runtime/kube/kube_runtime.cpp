#include "runtime/kube/kube_runtime.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "runtime/kube/pod_exec.h"
#include "runtime/log_record.h"
#include "util/log.h"
#include "util/status.h"
#include "util/strings.h"
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

// A container's log, read through `berth-kubehelper logs --follow` in the
// sidecar: records arrive as the exec's stdout; the helper's "caught-up"
// line on stderr says the log as it was is in, so a reader that does not
// follow gets all of it and no more waiting.
class KubeLogCursor final : public LogCursor {
 public:
  KubeLogCursor(const KubeClient& client, std::string pod, int64_t tail) : event_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    ExecRequest req;
    req.pod = std::move(pod);
    req.container = kSidecarContainer;
    req.command = {kHelperPath, "logs", "--follow"};
    if (tail >= 0) {
      req.command.push_back("--tail");
      req.command.push_back(strCat(tail));
    }
    thread_ = std::thread([this, &client, req] {
      absl::StatusOr<int> rc = execInPod(client, req, [this](int channel, std::string_view data) {
        std::lock_guard lock(mu_);
        if (channel == 1) {
          buffer_.append(data);
        } else if (data.find("caught-up") != std::string_view::npos) {
          caughtUp_ = true;
        }
        cv_.notify_all();
        signal();
      }, &cancel_);
      std::lock_guard lock(mu_);
      ended_ = true;
      if (!rc.ok() && !cancel_) status_ = rc.status();
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
    if (!status_.ok() && buffer_.empty()) return status_;
    bool torn = false;
    auto at = [this](size_t off) { return buffer_.data() + off; };
    size_t end = logfmt::walkRecords(buffer_.size(), 0, at, [&](const logfmt::RecordHeader& h, size_t off) {
      LogEntry e;
      e.stream = h.stream;
      e.timeNanos = h.timeNanos;
      e.partial = h.partial != 0;
      e.data = std::string_view(buffer_).substr(off + sizeof h, h.length);
      sink(e);
    }, &torn);
    if (torn) return absl::DataLossError("the container's log is damaged");
    buffer_.erase(0, end);
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
  std::string buffer_;
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
  BERTH_RETURN_IF_ERROR(rt->informer_.start());
  return rt;
}

KubeRuntime::KubeRuntime(std::unique_ptr<KubeClient> client, KubeRuntimeOptions options)
    : client_(std::move(client)),
      options_(std::move(options)),
      informer_(*client_, strCat(kInstanceLabel, "=", options_.pod.instance)) {}

KubeRuntime::~KubeRuntime() = default;

absl::Status KubeRuntime::deletePod(const std::string& pod) {
  absl::StatusOr<json> r = client_->remove(client_->corePath("pods", pod), json{{"gracePeriodSeconds", 0}});
  if (!r.ok() && !absl::IsNotFound(r.status())) return r.status();
  auto [last, gone] = informer_.waitUntil(pod, [](const json* p) { return p == nullptr; },
                                          Clock::now() + std::chrono::seconds(60));
  if (!gone) return absl::DeadlineExceededError(strCat("kubernetes: pod ", pod, " is still there a minute after its deletion"));
  return absl::OkStatus();
}

absl::StatusOr<int> KubeRuntime::helper(const std::string& pod, const char* container, std::vector<std::string> args,
                                        std::string* output) {
  ExecRequest req;
  req.pod = pod;
  req.container = container;
  req.command = {kHelperPath};
  req.command.insert(req.command.end(), args.begin(), args.end());
  std::string collected;
  absl::StatusOr<int> rc = execInPod(*client_, req, [&](int, std::string_view data) { collected.append(data); });
  if (output != nullptr) *output = collected;
  return rc;
}

absl::StatusOr<Started> KubeRuntime::start(const ContainerSpec& spec, StartOptions options) {
  std::string name = podOf(spec.id);
  // The pod of an earlier run (restartPolicy Never: a new run is a new pod).
  if (informer_.get(name)) BERTH_RETURN_IF_ERROR(deletePod(name));
  PodRun run;
  run.openStdin = options.openStdin;
  run.stdinOnce = options.stdinOnce;
  BERTH_ASSIGN_OR_RETURN(json pod, buildPod(spec, options_.pod, run));
  BERTH_RETURN_IF_ERROR(client_->post(client_->corePath("pods"), pod).status());
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
  Started s;
  s.pid = 1;  // the helper, pid 1 of the container's namespace (no host pid to show)
  if (lastPod != nullptr && lastPod->contains("status")) s.ipAddress = (*lastPod)["status"].value("podIP", "");
  s.startedAt = m.startedAt;
  return s;
}

absl::StatusOr<Started> KubeRuntime::exec(const std::string&, const std::string&, const ContainerSpec&, StartOptions) {
  return absl::UnimplementedError("docker exec is not available on the kube backend yet");
}

std::optional<ExitStatus> exitOf(const json* pod) {
  MainState m = mainState(pod);
  if (m.kind == MainState::kExited) return m.exit;
  // Deleted or failed behind our back (evicted, say): gone as if killed.
  if (m.kind == MainState::kFailed) return ExitStatus{137, formatRfc3339Nano(nowSystem()), false};
  return std::nullopt;
}

std::optional<ExitStatus> KubeRuntime::exited(const std::string& id) {
  std::optional<json> pod = informer_.get(podOf(id));
  return exitOf(pod ? &*pod : nullptr);
}

void KubeRuntime::watch(const std::string& id, std::function<void(ExitStatus)> onExit) {
  auto once = std::make_shared<std::atomic<bool>>(false);
  informer_.subscribe(podOf(id), [onExit = std::move(onExit), once](const json* pod) {
    std::optional<ExitStatus> e = exitOf(pod);
    if (!e) return false;
    if (!once->exchange(true)) onExit(*e);
    return true;
  });
}

absl::Status KubeRuntime::kill(const std::string& id, int signal) {
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

absl::StatusOr<UniqueFd> KubeRuntime::attach(const std::string&, std::string_view) {
  return absl::UnimplementedError("attach is not available on the kube backend yet: use docker run -d and docker logs -f");
}

absl::Status KubeRuntime::resize(const std::string&, unsigned, unsigned) {
  return absl::UnimplementedError("resize is not available on the kube backend yet");
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
  return absl::UnimplementedError("docker cp is not available on the kube backend yet");
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
  std::string pod = podOf(id);
  if (!informer_.get(pod)) return absl::OkStatus();
  return deletePod(pod);
}

}  // namespace berth::runtime::kube
