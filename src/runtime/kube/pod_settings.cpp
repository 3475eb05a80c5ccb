#include "runtime/kube/pod_settings.h"

#include <algorithm>
#include <iterator>

#include "runtime/kube/names.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::runtime::kube {

bool validQuantity(std::string_view q) {
  size_t i = 0;
  size_t digits = 0;
  while (i < q.size() && ((q[i] >= '0' && q[i] <= '9') || q[i] == '.')) digits += q[i++] != '.';
  if (digits == 0 || std::count(q.begin(), q.begin() + i, '.') > 1) return false;
  std::string_view suffix = q.substr(i);
  static constexpr std::string_view kSuffixes[] = {"", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  if (std::find(std::begin(kSuffixes), std::end(kSuffixes), suffix) != std::end(kSuffixes)) return true;
  int64_t exp = 0;
  return (suffix[0] == 'e' || suffix[0] == 'E') && parseInt(suffix.substr(1), exp);
}

absl::Status parseRequestPair(std::string_view what, std::string_view text, ResourceRequest& out) {
  if (text.empty()) return absl::OkStatus();
  auto [request, limit] = splitOnce(text, ',');
  for (std::string_view q : {request, limit}) {
    if (!q.empty() && !validQuantity(q)) {
      return absl::InvalidArgumentError(strCat(what, ": \"", q, "\" is not a Kubernetes quantity (want request[,limit], e.g. 100m,1 or 128Mi)"));
    }
  }
  out = {std::string(request), std::string(limit)};
  return absl::OkStatus();
}

absl::Status parseKeyValues(std::string_view what, std::string_view text, bool labelValues,
                            std::map<std::string, std::string>& out) {
  for (std::string_view kv : split(text, ',')) {
    auto [k, v] = splitOnce(kv, '=');
    if (kv.find('=') == std::string_view::npos || !validLabelKey(k) || (labelValues && !v.empty() && !validLabelValue(v))) {
      return absl::InvalidArgumentError(strCat(what, ": invalid entry \"", kv, "\" (want key=value with a Kubernetes label key)"));
    }
    out[std::string(k)] = std::string(v);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> parsePullPolicy(std::string_view what, std::string_view text) {
  std::string policy = toLower(text);
  if (policy == "always") return std::string("Always");
  if (policy == "ifnotpresent") return std::string("IfNotPresent");
  if (policy == "never") return std::string("Never");
  if (policy.empty()) return std::string();
  return absl::InvalidArgumentError(strCat(what, " \"", text, "\": want always, ifnotpresent or never"));
}

absl::StatusOr<PodOptions> containerPodOptions(const ContainerSpec& spec, PodOptions options) {
  for (std::string_view key : {"request-cpu", "request-memory", "request-ephemeral-storage", "node-selector",
                               "active-deadline-seconds", "runas-user", "pull-policy"}) {
    std::string label = strCat("berth.dev/", key);
    auto it = spec.labels.find(label);
    if (it == spec.labels.end()) it = spec.labels.find(label = strCat("com.joyrex2001.kubedock.", key));
    if (it == spec.labels.end()) continue;
    const std::string& value = it->second;
    std::string what = strCat("label ", label);
    if (key == "request-cpu") {
      BERTH_RETURN_IF_ERROR(parseRequestPair(what, value, options.cpu));
    } else if (key == "request-memory") {
      BERTH_RETURN_IF_ERROR(parseRequestPair(what, value, options.memory));
    } else if (key == "request-ephemeral-storage") {
      BERTH_RETURN_IF_ERROR(parseRequestPair(what, value, options.ephemeralStorage));
    } else if (key == "node-selector") {
      options.nodeSelector.clear();
      BERTH_RETURN_IF_ERROR(parseKeyValues(what, value, true, options.nodeSelector));
    } else if (key == "active-deadline-seconds" || key == "runas-user") {
      int64_t n = 0;
      if (!parseInt(value, n) || n < -1) {
        return absl::InvalidArgumentError(strCat(what, ": \"", value, "\" is not ",
                                                 key == "runas-user" ? "a user id" : "a number of seconds"));
      }
      (key == "runas-user" ? options.runAsUser : options.activeDeadlineSeconds) = n;
    } else {
      BERTH_ASSIGN_OR_RETURN(options.containerPullPolicy, parsePullPolicy(what, value));
    }
  }
  return options;
}

}  // namespace berth::runtime::kube
