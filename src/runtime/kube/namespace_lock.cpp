#include "runtime/kube/namespace_lock.h"

#include <ctime>

#include "util/log.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/timestamp.h"

namespace berth::runtime::kube {
namespace {

using json = nlohmann::json;
using SystemClock = std::chrono::system_clock;

constexpr const char* kLeases = "coordination.k8s.io/v1";

}  // namespace

std::string microTime(SystemClock::time_point t) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>(micros % 1000000));
  return strCat(buf, frac);
}

bool leaseFree(const json& lease, const std::string& identity, SystemClock::time_point now) {
  if (!lease.is_object() || !lease.contains("spec") || !lease["spec"].is_object()) return true;
  const json& spec = lease["spec"];
  std::string holder = spec.value("holderIdentity", "");
  if (holder.empty() || holder == identity) return true;
  absl::StatusOr<SystemTime> renewed = parseRfc3339(spec.value("renewTime", ""));
  if (!renewed.ok()) return true;  // never renewed: nobody holds it
  return now - *renewed > std::chrono::seconds(spec.value("leaseDurationSeconds", int64_t(kLockSeconds)));
}

absl::Status NamespaceLock::tryTake() {
  std::string now = microTime(SystemClock::now());
  absl::StatusOr<json> lease = client_.get(client_.groupPath(kLeases, "leases", kLockName));
  if (absl::IsNotFound(lease.status())) {
    json fresh = {{"apiVersion", kLeases},
                  {"kind", "Lease"},
                  {"metadata", {{"name", kLockName}}},
                  {"spec", {{"holderIdentity", identity_}, {"leaseDurationSeconds", kLockSeconds},
                            {"acquireTime", now}, {"renewTime", now}}}};
    absl::Status st = client_.post(client_.groupPath(kLeases, "leases"), fresh).status();
    if (absl::IsAlreadyExists(st)) return absl::UnavailableError("taken meanwhile");
    return st;
  }
  BERTH_RETURN_IF_ERROR(lease.status());
  if (!leaseFree(*lease, identity_, SystemClock::now())) {
    return absl::UnavailableError((*lease)["spec"].value("holderIdentity", ""));
  }
  // Taken over only if nobody changed it since it was read (resourceVersion).
  const json& spec = (*lease)["spec"];
  bool mine = spec.value("holderIdentity", "") == identity_;
  json patch = {{"metadata", {{"resourceVersion", (*lease)["metadata"].value("resourceVersion", "")}}},
                {"spec", {{"holderIdentity", identity_}, {"leaseDurationSeconds", kLockSeconds}, {"renewTime", now}}}};
  if (!mine) {
    patch["spec"]["acquireTime"] = now;
    patch["spec"]["leaseTransitions"] = spec.value("leaseTransitions", int64_t(0)) + 1;
  }
  absl::Status st = client_.patch(client_.groupPath(kLeases, "leases", kLockName), patch).status();
  if (absl::IsAborted(st)) return absl::UnavailableError("changed meanwhile");
  return st;
}

absl::StatusOr<std::unique_ptr<NamespaceLock>> NamespaceLock::acquire(KubeClient& client, std::string identity,
                                                                      std::chrono::seconds timeout) {
  std::unique_ptr<NamespaceLock> lock(new NamespaceLock(client, std::move(identity)));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string waitingFor;
  for (;;) {
    absl::Status st = lock->tryTake();
    if (st.ok()) break;
    if (!absl::IsUnavailable(st)) return absl::Status(st.code(), strCat("taking the namespace lock (--lock): ", st.message()));
    if (st.message() != waitingFor) {
      waitingFor = std::string(st.message());
      log::info("waiting for the namespace lock (--lock)", {{"holder", waitingFor}});
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::DeadlineExceededError(strCat("the namespace lock (Lease ", kLockName, ") is still held by ", waitingFor,
                                                " after ", timeout.count(), "s"));
    }
    // A released Lease is deleted: asking again soon finds it free.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  log::info("holding the namespace lock (--lock)", {{"lease", kLockName}});
  lock->renewer_ = std::thread([l = lock.get()] { l->renewLoop(); });
  return lock;
}

void NamespaceLock::renewLoop() {
  std::unique_lock lock(mu_);
  while (!wake_.wait_for(lock, std::chrono::seconds(kLockSeconds / 3), [this] { return stopping_; })) {
    lock.unlock();
    absl::Status st = tryTake();
    if (!st.ok()) log::error("could not renew the namespace lock (--lock)", {{"error", std::string(st.message())}});
    lock.lock();
  }
}

NamespaceLock::~NamespaceLock() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (renewer_.joinable()) renewer_.join();
  absl::StatusOr<json> lease = client_.get(client_.groupPath(kLeases, "leases", kLockName));
  if (!lease.ok() || (*lease)["spec"].value("holderIdentity", "") != identity_) return;
  json options = {{"preconditions", {{"resourceVersion", (*lease)["metadata"].value("resourceVersion", "")}}}};
  absl::Status st = client_.remove(client_.groupPath(kLeases, "leases", kLockName), options).status();
  if (!st.ok()) log::warn("could not release the namespace lock", {{"error", std::string(st.message())}});
}

}  // namespace berth::runtime::kube
