#pragma once
// One watch over every pod of this Berth instance (by label), kept as a
// cache of their latest states: start, wait and exit all learn from it, so
// nothing polls and a hundred containers cost one connection. Relists when
// the watch expires (410) or breaks.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "nlohmann/json.hpp"
#include "runtime/kube/kube_client.h"

namespace berth::runtime::kube {

class PodInformer {
 public:
  // `labelSelector` chooses the pods ("berth.dev/instance=<id>").
  PodInformer(KubeClient& client, std::string labelSelector);
  ~PodInformer();

  // Lists once (so get() knows every pod) and starts watching.
  absl::Status start();

  // The latest state of pod `name`; nullopt when it does not exist.
  std::optional<nlohmann::json> get(const std::string& name);
  // Names of the pods known now.
  std::vector<std::string> names();

  // Waits until `done` holds for the pod's state (nullptr: the pod does not
  // exist) or the deadline passes; returns the last state seen and whether
  // `done` held.
  using Predicate = std::function<bool(const nlohmann::json* pod)>;
  std::pair<std::optional<nlohmann::json>, bool> waitUntil(const std::string& name, const Predicate& done,
                                                           std::chrono::steady_clock::time_point deadline);

  // Calls `fn` with every new state of `name` (nullptr when deleted),
  // first with the current one, until it returns true (done). Always from
  // the informer's delivery thread, in order, never from the caller's: a
  // caller may hold locks that `fn` takes. The handle cancels it.
  uint64_t subscribe(const std::string& name, Predicate fn);
  void unsubscribe(uint64_t handle);

 private:
  void run();
  // Replaces the cache with a fresh list; returns its resourceVersion.
  absl::StatusOr<std::string> relist();
  void apply(const std::string& name, const nlohmann::json* pod);  // under nothing; takes mu_

  KubeClient& client_;
  const std::string selector_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, nlohmann::json> pods_;  // guarded by mu_
  struct Subscriber {
    std::string name;
    Predicate fn;
  };
  std::map<uint64_t, Subscriber> subscribers_;  // guarded by mu_
  uint64_t nextHandle_ = 1;
  // Calls to make, in order, on notifier_ (so a slow subscriber never holds up the watch).
  struct Delivery {
    uint64_t handle;
    Predicate fn;
    std::optional<nlohmann::json> pod;
  };
  std::deque<Delivery> deliveries_;  // guarded by mu_
  std::condition_variable deliveryReady_;
  std::thread notifier_;
  void deliver();
  std::atomic<bool> stopping_{false};
  std::string resourceVersion_;
  std::thread thread_;
};

}  // namespace berth::runtime::kube
