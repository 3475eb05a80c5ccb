#pragma once
// Kubernetes' naming rules, apart from the pod builder so that the daemon's
// flag checks (and the fuzz build, which has no cluster code) can use them.
#include <string_view>

namespace berth::runtime::kube {

// Label values: at most 63 of [A-Za-z0-9._-], alphanumeric at both ends; empty is allowed.
bool validLabelValue(std::string_view v);
// A label key: optional DNS-subdomain prefix and '/', then a name as a value (non-empty).
bool validLabelKey(std::string_view k);
// An RFC 1123 label (a pod's hostname): at most 63 of [a-z0-9-], alphanumeric at both ends.
bool validDnsLabel(std::string_view h);
// An RFC 1123 subdomain (a hostAliases name): dot-separated labels, at most 253.
bool validDnsSubdomain(std::string_view h);

}  // namespace berth::runtime::kube
