#pragma once
// dockerd's default seccomp policy, as the calls it refuses: the syscalls
// that reach past a container (modules, kexec, mount, namespaces, keyrings,
// clocks, tracing other processes…) fail with EPERM unless the container
// holds the capability dockerd's profile ties them to.
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace berth::runtime::local {

// Loads the filter into the calling thread (and its future children).
absl::Status installDefaultSeccomp(const std::vector<std::string>& capabilities);

// The syscalls refused for a container holding `capabilities` (for tests and docs).
std::vector<std::string> refusedSyscalls(const std::vector<std::string>& capabilities);

}  // namespace berth::runtime::local
