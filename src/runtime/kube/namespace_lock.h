#pragma once
// --lock (kubedock's): one Berth at a time per namespace, through a
// coordination.k8s.io Lease. A daemon waits at start until the Lease is
// free (deleted by its holder at shutdown, or not renewed for its
// duration), holds it by renewing, and deletes it when it ends.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "runtime/kube/kube_client.h"

namespace berth::runtime::kube {

inline constexpr const char* kLockName = "berth-lock";
inline constexpr int kLockSeconds = 15;  // a crashed holder's Lease is free this long after its last renewal

// Whether `lease` may be taken by `identity` at `now`: it names no holder,
// or `identity`, or its holder has not renewed it within its duration.
bool leaseFree(const nlohmann::json& lease, const std::string& identity, std::chrono::system_clock::time_point now);

// Kubernetes' MicroTime: RFC 3339 with exactly six fractional digits, UTC.
std::string microTime(std::chrono::system_clock::time_point t);

class NamespaceLock {
 public:
  // Blocks until the Lease is this identity's (or `timeout` passes: DeadlineExceeded naming the holder).
  static absl::StatusOr<std::unique_ptr<NamespaceLock>> acquire(KubeClient& client, std::string identity,
                                                                std::chrono::seconds timeout);
  ~NamespaceLock();  // stops renewing and deletes the Lease if it is still ours

 private:
  NamespaceLock(KubeClient& client, std::string identity) : client_(client), identity_(std::move(identity)) {}
  // One attempt: OK when the Lease is ours now; Unavailable (with the holder) when someone else's.
  absl::Status tryTake();
  void renewLoop();

  KubeClient& client_;
  const std::string identity_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread renewer_;
};

}  // namespace berth::runtime::kube
