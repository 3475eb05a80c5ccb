#include "runtime/kube/pod_informer.h"

#include "util/log.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::runtime::kube {

PodInformer::PodInformer(KubeClient& client, std::string labelSelector)
    : client_(client), selector_(std::move(labelSelector)) {}

PodInformer::~PodInformer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  deliveryReady_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (notifier_.joinable()) notifier_.join();
}

absl::Status PodInformer::start() {
  notifier_ = std::thread([this] { deliver(); });
  BERTH_ASSIGN_OR_RETURN(resourceVersion_, relist());
  thread_ = std::thread([this] { run(); });
  return absl::OkStatus();
}

void PodInformer::deliver() {
  std::unique_lock lock(mu_);
  while (true) {
    deliveryReady_.wait(lock, [&] { return stopping_ || !deliveries_.empty(); });
    if (stopping_) return;
    Delivery d = std::move(deliveries_.front());
    deliveries_.pop_front();
    if (!subscribers_.contains(d.handle)) continue;  // done or cancelled meanwhile
    lock.unlock();
    bool done = d.fn(d.pod ? &*d.pod : nullptr);
    lock.lock();
    if (done) subscribers_.erase(d.handle);
  }
}

absl::StatusOr<std::string> PodInformer::relist() {
  BERTH_ASSIGN_OR_RETURN(nlohmann::json list,
                         client_.get(strCat(client_.corePath("pods"), "?labelSelector=", queryEscape(selector_))));
  std::map<std::string, nlohmann::json> fresh;
  if (list.contains("items") && list["items"].is_array()) {
    for (const nlohmann::json& pod : list["items"]) {
      std::string name = pod["metadata"].value("name", "");
      if (!name.empty()) fresh[name] = pod;
    }
  }
  std::vector<std::string> gone;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, unused] : pods_) {
      if (!fresh.contains(name)) gone.push_back(name);
    }
  }
  for (const std::string& name : gone) apply(name, nullptr);
  for (const auto& [name, pod] : fresh) apply(name, &pod);
  return list.contains("metadata") ? list["metadata"].value("resourceVersion", "") : "";
}

void PodInformer::apply(const std::string& name, const nlohmann::json* pod) {
  bool queued = false;
  {
    std::lock_guard lock(mu_);
    if (pod != nullptr) {
      pods_[name] = *pod;
    } else {
      pods_.erase(name);
    }
    for (const auto& [handle, s] : subscribers_) {
      if (s.name != name) continue;
      deliveries_.push_back({handle, s.fn, pod ? std::optional(*pod) : std::nullopt});
      queued = true;
    }
  }
  changed_.notify_all();
  if (queued) deliveryReady_.notify_one();
}

void PodInformer::run() {
  int failures = 0;
  while (!stopping_) {
    std::string path = strCat(client_.corePath("pods"), "?watch=1&allowWatchBookmarks=true&timeoutSeconds=300",
                              "&labelSelector=", queryEscape(selector_), "&resourceVersion=", resourceVersion_);
    absl::Status st = client_.watch(
        path,
        [&](std::string_view type, const nlohmann::json& object) {
          if (object.contains("metadata")) {
            std::string rv = object["metadata"].value("resourceVersion", "");
            if (!rv.empty()) resourceVersion_ = rv;
          }
          if (type == "BOOKMARK") return true;
          std::string name = object.contains("metadata") ? object["metadata"].value("name", "") : "";
          if (name.empty()) return true;
          apply(name, type == "DELETED" ? nullptr : &object);
          failures = 0;
          return true;
        },
        &stopping_);
    if (stopping_) break;
    if (st.ok()) continue;  // the server ended the watch (timeoutSeconds): go on from where it was
    // Expired (410) or broken: list again, after a pause that grows while it keeps failing.
    if (failures > 0) {
      log::warn("kubernetes pod watch", {{"error", std::string(st.message())}});
      for (int i = 0; i < std::min(failures, 10) * 5 && !stopping_; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    ++failures;
    absl::StatusOr<std::string> rv = relist();
    if (rv.ok()) resourceVersion_ = *rv;
  }
}

std::optional<nlohmann::json> PodInformer::get(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = pods_.find(name);
  if (it == pods_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> PodInformer::names() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, unused] : pods_) out.push_back(name);
  return out;
}

std::pair<std::optional<nlohmann::json>, bool> PodInformer::waitUntil(const std::string& name, const Predicate& done,
                                                                      std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  bool timedOut = false;
  while (true) {
    auto it = pods_.find(name);
    const nlohmann::json* pod = it == pods_.end() ? nullptr : &it->second;
    bool held = done(pod);
    if (held || timedOut) return {pod ? std::optional(*pod) : std::nullopt, held};
    timedOut = changed_.wait_until(lock, deadline) == std::cv_status::timeout;
  }
}

uint64_t PodInformer::subscribe(const std::string& name, Predicate fn) {
  uint64_t handle;
  {
    std::lock_guard lock(mu_);
    handle = nextHandle_++;
    subscribers_[handle] = Subscriber{name, fn};
    auto it = pods_.find(name);
    deliveries_.push_back({handle, std::move(fn), it == pods_.end() ? std::nullopt : std::optional(it->second)});
  }
  deliveryReady_.notify_one();
  return handle;
}

void PodInformer::unsubscribe(uint64_t handle) {
  std::lock_guard lock(mu_);
  subscribers_.erase(handle);
}

}  // namespace berth::runtime::kube
