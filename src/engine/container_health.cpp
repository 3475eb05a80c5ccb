// ContainerService: healthchecks — the image's HEALTHCHECK or --health-*,
// probed as an exec in the running container, with dockerd's defaults,
// State.Health and health_status events.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "engine/container_doc.h"
#include "engine/container_service.h"
#include "runtime/monitor_protocol.h"
#include "util/log.h"
#include "util/random_id.h"
#include "util/strings.h"
#include "util/timestamp.h"

namespace berth::engine {
namespace {

using ojson = nlohmann::ordered_json;
namespace proto = runtime::monitor;

constexpr int64_t kDefaultInterval = 30'000'000'000;  // ns, as dockerd
constexpr int64_t kDefaultTimeout = 30'000'000'000;
constexpr int kDefaultRetries = 3;
constexpr size_t kMaxOutput = 4096;  // dockerd keeps this much of a probe's output
constexpr size_t kMaxLog = 5;        // and this many probes

int64_t nanosOf(const ojson& hc, const char* key, int64_t fallback) {
  auto it = hc.find(key);
  return it != hc.end() && it->is_number_integer() && it->get<int64_t>() > 0 ? it->get<int64_t>() : fallback;
}

// The probe's argv, or empty when there is none (no HEALTHCHECK, or NONE).
std::vector<std::string> probeCommand(const ojson& hc) {
  std::vector<std::string> test = stringList(hc.value("Test", ojson::array()));
  if (test.empty() || test[0] == "NONE") return {};
  if (test[0] == "CMD") return std::vector<std::string>(test.begin() + 1, test.end());
  if (test[0] == "CMD-SHELL" && test.size() >= 2) return {"/bin/sh", "-c", test[1]};
  return {};
}

// Go's time.Duration.String for the timeouts people set: "300ms", "2s", "1m30s".
std::string goDuration(int64_t ns) {
  char buf[32];
  if (ns < 1'000'000'000) {
    std::snprintf(buf, sizeof buf, "%gms", double(ns) / 1e6);
  } else if (ns < 60'000'000'000) {
    std::snprintf(buf, sizeof buf, "%gs", double(ns) / 1e9);
  } else {
    std::snprintf(buf, sizeof buf, "%lldm%gs", static_cast<long long>(ns / 60'000'000'000),
                  double(ns % 60'000'000'000) / 1e9);
  }
  return buf;
}

}  // namespace

bool ContainerService::startHealthcheck(Record& r, Live& l) {
  const ojson& hc = r.doc["Config"].value("Healthcheck", ojson::object());
  if (probeCommand(hc).empty()) return false;
  r.doc["State"]["Health"] = {{"Status", "starting"}, {"FailingStreak", 0}, {"Log", ojson::array()}};
  uint64_t generation = l.generation;
  int64_t start = nanosOf(hc, "StartPeriod", 0);
  int64_t first = start > 0 ? nanosOf(hc, "StartInterval", 5'000'000'000) : nanosOf(hc, "Interval", kDefaultInterval);
  std::string id = r.row.id;
  scheduler_.after(std::chrono::nanoseconds(first), [this, id, generation] { probe(id, generation); });
  return true;
}

void ContainerService::probe(const std::string& id, uint64_t generation) {
  std::shared_ptr<Live> l = live(id);
  if (l->generation != generation || !l->running || shuttingDown_) return;
  // The probe blocks up to its timeout: a thread of its own, counted so
  // shutdown can wait for it.
  ++activeProbes_;
  std::thread([this, id, generation, l] {
    runProbe(id, generation, *l);
    if (--activeProbes_ == 0) probesIdle_.notify_all();
  }).detach();
}

void ContainerService::runProbe(const std::string& id, uint64_t generation, Live& l) {
  absl::StatusOr<Record> rec = resolve(id);
  if (!rec.ok()) return;
  const ojson hc = rec->doc["Config"].value("Healthcheck", ojson::object());
  std::vector<std::string> cmd = probeCommand(hc);
  if (cmd.empty()) return;
  int64_t timeout = nanosOf(hc, "Timeout", kDefaultTimeout);
  std::string started = formatRfc3339Nano(nowSystem());
  int exitCode = -1;
  std::string output;
  absl::StatusOr<runtime::ContainerSpec> spec = buildContainerSpec(rec->doc, specContext_);
  if (spec.ok()) {
    spec->args = cmd;
    spec->terminal = false;
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0) {
      UniqueFd ours(sp[0]);
      (void)writeAll(sp[0], proto::frame(proto::kHello, "oe"));
      runtime::StartOptions o;
      o.attachments.emplace_back(sp[1]);
      std::string execId = newHexId();
      absl::StatusOr<runtime::Started> st = runtime_.exec(id, execId, *spec, std::move(o));
      std::string key = runtime::execKey(id, execId);
      if (!st.ok()) {
        output = std::string(st.status().message());
      } else {
        // Output frames until the exit frame, or the timeout.
        auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(timeout);
        std::string buf;
        bool exited = false;
        while (!exited) {
          auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
          if (left.count() <= 0 || shuttingDown_) break;
          pollfd p{ours.get(), POLLIN, 0};
          if (::poll(&p, 1, int(std::min<int64_t>(left.count(), 200))) <= 0) continue;
          char chunk[4096];
          ssize_t n = ::read(ours.get(), chunk, sizeof chunk);
          if (n <= 0) break;
          buf.append(chunk, size_t(n));
          while (buf.size() >= proto::kHeaderSize) {
            uint32_t len = proto::decodeLength(reinterpret_cast<const unsigned char*>(buf.data()));
            if (buf.size() < proto::kHeaderSize + len) break;
            uint8_t type = uint8_t(buf[0]);
            std::string payload = buf.substr(proto::kHeaderSize, len);
            buf.erase(0, proto::kHeaderSize + len);
            if (type == proto::kExit) {
              exitCode = std::atoi(payload.c_str());
              exited = true;
              break;
            }
            if (output.size() < kMaxOutput) output += payload.substr(0, kMaxOutput - output.size());
          }
        }
        if (!exited) {
          (void)runtime_.kill(key, SIGKILL);
          exitCode = -1;
          output = strCat("Health check exceeded timeout (", goDuration(timeout), ")");
        }
      }
      (void)runtime_.remove(key);
    }
  } else {
    output = std::string(spec.status().message());
  }

  // Record the result (dockerd's rules) unless the container moved on.
  std::lock_guard op(l.op);
  if (l.generation != generation || !l.running) return;
  absl::StatusOr<Record> now = resolve(id);
  if (!now.ok()) return;
  Record& r = *now;
  ojson& h = r.doc["State"]["Health"];
  if (!h.is_object()) return;
  h["Log"].push_back({{"Start", started}, {"End", formatRfc3339Nano(nowSystem())}, {"ExitCode", exitCode}, {"Output", output}});
  while (h["Log"].size() > kMaxLog) h["Log"].erase(h["Log"].begin());
  std::string before = h.value("Status", "starting");
  int64_t startPeriod = nanosOf(hc, "StartPeriod", 0);
  absl::StatusOr<SystemTime> startedAt = parseRfc3339(r.doc["State"].value("StartedAt", std::string(kZeroTime)));
  bool inStartPeriod = startPeriod > 0 && startedAt.ok() &&
                       toUnixNanos(nowSystem()) - toUnixNanos(*startedAt) < startPeriod;
  if (exitCode == 0) {
    h["Status"] = "healthy";
    h["FailingStreak"] = 0;
  } else if (!inStartPeriod) {
    int streak = h.value("FailingStreak", 0) + 1;
    h["FailingStreak"] = streak;
    int retries = int(hc.value("Retries", 0)) > 0 ? int(hc.value("Retries", 0)) : kDefaultRetries;
    if (streak >= retries) h["Status"] = "unhealthy";
  }
  (void)save(r);
  if (h.value("Status", "") != before) publish(strCat("health_status: ", h.value("Status", "")), r);
  bool starting = inStartPeriod && h.value("Status", "") != "healthy";
  int64_t next = starting && hc.contains("StartInterval") ? nanosOf(hc, "StartInterval", 5'000'000'000)
                                                         : nanosOf(hc, "Interval", kDefaultInterval);
  scheduler_.after(std::chrono::nanoseconds(next), [this, id, generation] { probe(id, generation); });
}

void ContainerService::waitForProbes() {
  std::unique_lock lock(probesMu_);
  probesIdle_.wait_for(lock, std::chrono::seconds(5), [this] { return activeProbes_ == 0; });
}

}  // namespace berth::engine
