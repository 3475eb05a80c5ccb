#pragma once
// The pod settings the daemon's flags give every pod, and the labels that
// change them for one container: kubedock's `com.joyrex2001.kubedock.<key>`
// and Berth's `berth.dev/<key>` (Berth's wins when both are set), for
// request-cpu, request-memory, request-ephemeral-storage, node-selector,
// active-deadline-seconds, runas-user and pull-policy. Labels win over the
// flags, which win over the pod template. One parser per setting, shared.
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/kube/pod_builder.h"
#include "runtime/spec.h"

namespace berth::runtime::kube {

// A Kubernetes quantity: "100m", "0.5", "128Mi", "1G", "2e3".
bool validQuantity(std::string_view q);

// `what` names the source in errors ("--request-cpu", "label berth.dev/request-cpu").
// "request[,limit]", each a quantity.
absl::Status parseRequestPair(std::string_view what, std::string_view text, ResourceRequest& out);
// "k=v[,k=v…]" with label keys (and label values when `labelValues`), into `out`.
absl::Status parseKeyValues(std::string_view what, std::string_view text, bool labelValues,
                            std::map<std::string, std::string>& out);
// always, ifnotpresent, never (any case) → Kubernetes' spelling.
absl::StatusOr<std::string> parsePullPolicy(std::string_view what, std::string_view text);

// `options` with the container's labels applied; InvalidArgument naming the label for a bad value.
absl::StatusOr<PodOptions> containerPodOptions(const ContainerSpec& spec, PodOptions options);

}  // namespace berth::runtime::kube
