// ContainerService: docker exec — processes started in a running
// container, each with its own monitor, known in memory as dockerd keeps them.
#include <sys/socket.h>

#include <algorithm>

#include "engine/container_doc.h"
#include "engine/container_service.h"
#include "runtime/capabilities.h"
#include "runtime/monitor_protocol.h"
#include "util/random_id.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::engine {
namespace {

using ojson = nlohmann::ordered_json;

}  // namespace

absl::StatusOr<std::shared_ptr<ContainerService::Exec>> ContainerService::findExec(std::string_view id) {
  std::lock_guard lock(execMu_);
  auto it = execs_.find(std::string(id));
  if (it == execs_.end()) return absl::NotFoundError(strCat("No such exec instance: ", id));
  return it->second;
}

absl::StatusOr<std::string> ContainerService::createExec(std::string_view container, const nlohmann::json& body) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(container));
  std::string status = r.doc["State"].value("Status", "");
  if (status == "paused") {
    return absl::FailedPreconditionError(strCat("Container ", r.row.id, " is paused, unpause the container before exec"));
  }
  if (status != "running") return absl::FailedPreconditionError(strCat("Container ", r.row.id, " is not running"));
  std::vector<std::string> cmd = stringList(body.value("Cmd", nlohmann::json()));
  if (cmd.empty()) return absl::InvalidArgumentError("No exec command specified");
  auto e = std::make_shared<Exec>();
  e->id = newHexId();
  e->containerId = r.row.id;
  e->config = ojson::object();
  for (const char* key : {"AttachStdin", "AttachStdout", "AttachStderr", "Tty", "Privileged"}) {
    e->config[key] = body.value(key, false);
  }
  for (const char* key : {"User", "WorkingDir", "DetachKeys"}) e->config[key] = body.value(key, "");
  e->config["Env"] = stringList(body.value("Env", nlohmann::json()));
  e->config["Cmd"] = cmd;
  if (std::string wd = e->config["WorkingDir"]; !wd.empty() && !wd.starts_with('/')) {
    return absl::InvalidArgumentError(strCat("invalid WorkingDir: \"", wd, "\": must be an absolute path"));
  }
  {
    std::lock_guard lock(execMu_);
    execs_[e->id] = e;
  }
  publish(strCat("exec_create: ", join(cmd, " ")), r, {{"execID", e->id}});
  return e->id;
}

void ContainerService::settleExec(Exec& e, const runtime::ExitStatus& status) {
  if (!e.running) return;
  e.running = false;
  e.exitCode = status.exitCode;
  e.pid = 0;
}

absl::StatusOr<api::backend::AttachTarget> ContainerService::startExec(std::string_view execId, bool detach) {
  BERTH_ASSIGN_OR_RETURN(std::shared_ptr<Exec> e, findExec(execId));
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(e->containerId));
  {
    std::lock_guard lock(execMu_);
    if (e->started) return absl::FailedPreconditionError(strCat("Error: Exec command ", e->id, " is already running"));
    e->started = true;
  }
  std::string status = r.doc["State"].value("Status", "");
  if (status != "running") return absl::FailedPreconditionError(strCat("Container ", r.row.id, " is not running"));
  // The process inherits the container's settings, then the exec's own.
  BERTH_ASSIGN_OR_RETURN(runtime::ContainerSpec p, buildContainerSpec(r.doc, specContext_));
  const ojson& c = e->config;
  p.args = stringList(c["Cmd"]);
  for (const std::string& kv : stringList(c["Env"])) {
    std::string key = kv.substr(0, kv.find('='));
    auto same = std::find_if(p.env.begin(), p.env.end(), [&](const std::string& x) { return x.substr(0, x.find('=')) == key; });
    if (same != p.env.end()) {
      *same = kv;
    } else {
      p.env.push_back(kv);
    }
  }
  if (!c.value("User", "").empty()) p.user = c.value("User", "");
  if (!c.value("WorkingDir", "").empty()) p.cwd = c.value("WorkingDir", "");
  p.terminal = c.value("Tty", false);
  if (c.value("Privileged", false)) {
    p.capabilities = runtime::allCapabilities();
    p.seccomp = false;
  }
  runtime::StartOptions options;
  options.openStdin = c.value("AttachStdin", false) && !detach;
  options.stdinOnce = true;
  api::backend::AttachTarget target;
  target.tty = p.terminal;
  if (!detach) {
    std::string streams;
    if (c.value("AttachStdin", false)) streams += "i";
    if (c.value("AttachStdout", false)) streams += "o";
    if (c.value("AttachStderr", false)) streams += "e";
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) return absl::InternalError("socketpair failed");
    target.stream = UniqueFd(sp[0]);
    BERTH_RETURN_IF_ERROR(writeAll(sp[0], runtime::monitor::frame(runtime::monitor::kHello, streams)));
    options.attachments.emplace_back(sp[1]);
  }
  absl::StatusOr<runtime::Started> started = runtime_.exec(r.row.id, e->id, p, std::move(options));
  if (!started.ok()) {
    std::lock_guard lock(execMu_);
    e->exitCode = startErrorExitCode(std::string(started.status().message()), 126);
    return started.status();
  }
  {
    std::lock_guard lock(execMu_);
    e->running = true;
    e->pid = started->pid;
  }
  publish(strCat("exec_start: ", join(stringList(c["Cmd"]), " ")), r, {{"execID", e->id}});
  std::string key = runtime::execKey(r.row.id, e->id);
  runtime_.watch(key, [this, e, r, key](runtime::ExitStatus st) {
    {
      std::lock_guard lock(execMu_);
      settleExec(*e, st);
    }
    (void)runtime_.remove(key);  // its exit is settled: the directory can go
    publish("exec_die", r, {{"execID", e->id}, {"exitCode", strCat(st.exitCode)}});
  });
  return target;
}

absl::StatusOr<nlohmann::ordered_json> ContainerService::inspectExec(std::string_view execId) {
  BERTH_ASSIGN_OR_RETURN(std::shared_ptr<Exec> e, findExec(execId));
  // Its stream may end a moment before the exit is seen: the exit file settles it.
  std::optional<runtime::ExitStatus> done = runtime_.exited(runtime::execKey(e->containerId, e->id));
  std::lock_guard lock(execMu_);
  if (done) settleExec(*e, *done);
  const ojson& c = e->config;
  std::vector<std::string> cmd = stringList(c["Cmd"]);
  ojson j;
  j["CanRemove"] = false;
  j["ContainerID"] = e->containerId;
  j["DetachKeys"] = c.value("DetachKeys", "");
  j["ExitCode"] = e->exitCode ? ojson(*e->exitCode) : ojson(nullptr);
  j["ID"] = e->id;
  j["OpenStderr"] = c.value("AttachStderr", false);
  j["OpenStdin"] = c.value("AttachStdin", false);
  j["OpenStdout"] = c.value("AttachStdout", false);
  j["ProcessConfig"] = {{"arguments", std::vector<std::string>(cmd.begin() + 1, cmd.end())},
                        {"entrypoint", cmd.front()},
                        {"privileged", c.value("Privileged", false)},
                        {"tty", c.value("Tty", false)},
                        {"user", c.value("User", "")}};
  j["Running"] = e->running;
  j["Pid"] = e->pid;
  return j;
}

absl::Status ContainerService::resizeExec(std::string_view execId, unsigned rows, unsigned cols) {
  BERTH_ASSIGN_OR_RETURN(std::shared_ptr<Exec> e, findExec(execId));
  return runtime_.resize(runtime::execKey(e->containerId, e->id), rows, cols);
}

}  // namespace berth::engine
