#pragma once
// A bind mount's source on the daemon's machine, for a pod on another one.
// The kube backend copies binds into the pod (directories through the copy
// gate, single files in a ConfigMap), so a bind is a read of a daemon-side
// path on a client's behalf: allowed only under the --bind-root directories
// (kubedock tars any path it is given, its own service-account token too).
// The source is opened first and the path of what was opened is checked,
// so a symlink swapped in between cannot redirect the read.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "util/unique_fd.h"

namespace berth::runtime::kube {

struct BindSource {
  bool directory = false;
  UniqueFd dir;         // directory: open O_RDONLY|O_DIRECTORY, for copying its tree
  std::string content;  // a regular file: its bytes
  std::string realPath;
  uint32_t mode = 0;  // permission bits
};

// What Kubernetes lets a ConfigMap hold (its data, in all).
inline constexpr size_t kConfigMapBytes = 1 << 20;

// Whether a bind asks for a Docker socket in the container (testcontainers'
// ryuk, Docker-in-Docker): its source is a unix socket, or its source or
// destination is a docker.sock. Such a bind reads nothing here: the pod's
// sidecar serves Berth's own API at the destination (socket_relay.h).
bool isDockerSocketBind(const std::string& source, const std::string& destination);

// The real paths of --bind-root directories; InvalidArgument for one that
// is missing or not a directory.
absl::StatusOr<std::vector<std::string>> canonicalBindRoots(const std::vector<std::string>& roots);

// Opens `source` if its real path is one of `roots` (real paths) or under
// one. InvalidArgument for a missing source (dockerd's text), one outside
// the roots, one that is neither a directory nor a regular file (a socket
// such as /var/run/docker.sock), and a file over `maxFileBytes`.
absl::StatusOr<BindSource> openBindSource(const std::string& source, const std::vector<std::string>& roots,
                                          size_t maxFileBytes);

}  // namespace berth::runtime::kube
