// ContainerService: what can be read from a running container — logs, the
// process table (top) and resource figures (stats).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "engine/container_doc.h"
#include "engine/container_service.h"
#include "util/host_info.h"
#include "util/process.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/timestamp.h"

extern char** environ;

namespace berth::engine {
namespace {

using ojson = nlohmann::ordered_json;

class ContainerLogReader final : public api::backend::LogReader {
 public:
  ContainerLogReader(std::unique_ptr<runtime::LogCursor> cursor, api::backend::LogsOptions options,
                     std::function<bool()> running, bool tty)
      : cursor_(std::move(cursor)), options_(options), running_(std::move(running)), tty_(tty) {}

  absl::Status readAvailable(const std::function<void(const api::backend::LogLine&)>& sink) override {
    return cursor_->readAvailable([&](const runtime::LogEntry& e) {
      if (e.stream == 1 && !options_.stdoutWanted) return;
      if (e.stream == 2 && !options_.stderrWanted) return;
      int64_t t = int64_t(e.timeNanos);
      if (options_.sinceNanos && t < *options_.sinceNanos) return;
      if (options_.untilNanos && t > *options_.untilNanos) {
        pastUntil_ = true;
        return;
      }
      sink(api::backend::LogLine{e.stream, t, e.data, e.partial});
    });
  }
  int changeFd() const override { return cursor_->changeFd(); }
  void drainChange() override { cursor_->drainChange(); }
  bool finished() override {
    if (pastUntil_) return true;
    if (options_.untilNanos && toUnixNanos(nowSystem()) > *options_.untilNanos) return true;
    return !running_();
  }
  bool tty() const override { return tty_; }

 private:
  std::unique_ptr<runtime::LogCursor> cursor_;
  api::backend::LogsOptions options_;
  std::function<bool()> running_;
  bool tty_;
  bool pastUntil_ = false;
};

std::vector<std::string> fields(std::string_view line) {
  std::vector<std::string> out;
  std::istringstream in{std::string(line)};
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

uint64_t systemCpuNanos() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  uint64_t total = 0, v = 0;
  for (int i = 0; i < 8 && in >> v; ++i) total += v;
  return total * (1000000000ull / uint64_t(::sysconf(_SC_CLK_TCK)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<api::backend::LogReader>> ContainerService::containerLogs(
    std::string_view name, const api::backend::LogsOptions& options) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  std::string type = r.doc["HostConfig"]["LogConfig"].value("Type", "json-file");
  if (type == "none") {
    return absl::InvalidArgumentError(strCat("configured logging driver does not support reading"));
  }
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<runtime::LogCursor> cursor, runtime_.openLogs(r.row.id, options.tail));
  std::shared_ptr<Live> l = live(r.row.id);
  bool follow = options.follow;
  auto running = [l, follow] { return follow && l->running.load(); };
  return std::unique_ptr<api::backend::LogReader>(
      new ContainerLogReader(std::move(cursor), options, running, r.doc["Config"].value("Tty", false)));
}

absl::StatusOr<api::backend::ProcessTable> ContainerService::topContainer(std::string_view name,
                                                                          std::string_view psArgs) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  std::string status = r.doc["State"].value("Status", "");
  if (status != "running" && status != "paused") {
    return absl::FailedPreconditionError(strCat("Container ", r.row.id, " is not running"));
  }
  BERTH_ASSIGN_OR_RETURN(std::vector<pid_t> pids, runtime_.pids(r.row.id));
  std::set<pid_t> wanted(pids.begin(), pids.end());
  std::vector<std::string> args = {"ps"};
  std::vector<std::string> extra = fields(psArgs.empty() ? "-ef" : psArgs);
  args.insert(args.end(), extra.begin(), extra.end());
  BERTH_ASSIGN_OR_RETURN(std::string out, runProgram(args));
  std::istringstream in(out);
  std::string header;
  std::getline(in, header);
  api::backend::ProcessTable t;
  t.titles = fields(header);
  auto pidCol = std::find(t.titles.begin(), t.titles.end(), "PID");
  if (pidCol == t.titles.end()) return absl::InternalError("Couldn't find PID field in ps output");
  size_t pidIndex = size_t(pidCol - t.titles.begin());
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f = fields(line);
    if (f.size() < t.titles.size()) continue;
    int pid = 0;
    if (!parseInt(f[pidIndex], pid) || !wanted.contains(pid_t(pid))) continue;
    // The last column (the command) keeps its spaces.
    std::vector<std::string> row(f.begin(), f.begin() + long(t.titles.size()) - 1);
    std::string rest;
    for (size_t i = t.titles.size() - 1; i < f.size(); ++i) rest += (rest.empty() ? "" : " ") + f[i];
    row.push_back(rest);
    t.processes.push_back(std::move(row));
  }
  return t;
}

absl::StatusOr<nlohmann::ordered_json> ContainerService::containerStats(std::string_view name,
                                                                        const nlohmann::ordered_json* previous) {
  BERTH_ASSIGN_OR_RETURN(Record r, resolve(name));
  std::string status = r.doc["State"].value("Status", "");
  ojson s;
  s["name"] = "/" + r.row.name;
  s["id"] = r.row.id;
  s["read"] = formatRfc3339Nano(nowSystem());
  s["preread"] = previous != nullptr ? (*previous)["read"] : ojson(std::string(kZeroTime));
  bool running = status == "running" || status == "paused";
  runtime::ResourceStats rs;
  if (running) {
    BERTH_ASSIGN_OR_RETURN(rs, runtime_.stats(r.row.id));
    if (rs.pids == 0) {
      absl::StatusOr<std::vector<pid_t>> p = runtime_.pids(r.row.id);
      if (p.ok()) rs.pids = p->size();
    }
  }
  static const HostInfo host = readHostInfo();
  s["pids_stats"] = running ? ojson{{"current", rs.pids}} : ojson::object();
  if (running && rs.pidsLimit > 0) s["pids_stats"]["limit"] = rs.pidsLimit;
  s["blkio_stats"] = {{"io_service_bytes_recursive", nullptr}, {"io_serviced_recursive", nullptr},
                      {"io_queue_recursive", nullptr},        {"io_service_time_recursive", nullptr},
                      {"io_wait_time_recursive", nullptr},    {"io_merged_recursive", nullptr},
                      {"io_time_recursive", nullptr},         {"sectors_recursive", nullptr}};
  s["num_procs"] = 0;
  s["storage_stats"] = ojson::object();
  ojson cpu;
  cpu["cpu_usage"] = {{"total_usage", rs.cpuUsageNanos},
                      {"usage_in_kernelmode", rs.cpuSystemNanos},
                      {"usage_in_usermode", rs.cpuUserNanos}};
  if (running) {
    cpu["system_cpu_usage"] = systemCpuNanos();
    cpu["online_cpus"] = host.ncpu;
  }
  cpu["throttling_data"] = {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}};
  s["cpu_stats"] = cpu;
  s["precpu_stats"] = previous != nullptr ? (*previous)["cpu_stats"]
                                          : ojson{{"cpu_usage", {{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}}},
                                                  {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
  ojson mem = ojson::object();
  if (running) {
    mem["usage"] = rs.memoryUsage;
    if (rs.memoryMaxUsage > 0) mem["max_usage"] = rs.memoryMaxUsage;
    ojson st = ojson::object();
    for (const auto& [k, v] : rs.memoryStat) st[k] = v;
    mem["stats"] = st;
    uint64_t limit = rs.memoryLimit;
    if (limit == 0 || limit > uint64_t(host.memTotal)) limit = uint64_t(host.memTotal);
    mem["limit"] = limit;
  }
  s["memory_stats"] = mem;
  return s;
}

}  // namespace berth::engine
