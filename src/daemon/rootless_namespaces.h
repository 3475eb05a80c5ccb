#pragma once
// A daemon started by a normal user runs, like rootless dockerd under
// RootlessKit, inside its own user, mount and network namespaces, where it
// is root: it can chown image files to the ids it maps, mount overlays, and
// run bridges, veths and an nft table of its own exactly as on a root daemon.
//
//   parent (the process the user started; host namespaces)
//     ├─ maps ids into the new user namespace: the user's uid/gid to 0 and
//     │  its /etc/subuid and /etc/subgid ranges to 1…, with newuidmap and
//     │  newgidmap (its own id only when it has no ranges)
//     ├─ starts slirp4netns on the namespace for outbound traffic
//     ├─ makes host-network sockets on request (util/host_sockets.h)
//     └─ forwards SIGTERM/SIGINT/SIGHUP and exits with the daemon's status
//   daemon (child; dies with the parent)
//   holder (`berth __rootless-holder <state dir>`): pins the namespaces so
//     containers outlive the daemon; the next daemon joins them again.
//     slirp4netns exits with it (its --exit-fd is a pipe only the holder
//     keeps open).
#include <string>

#include "absl/status/status.h"

namespace berth::daemon {

// In the parent: never returns (exits with the daemon's status). In the
// daemon: returns once it is root in its namespaces and hostSocket() asks
// the parent. `stateDir` keeps the holder's pid file. Call it before any
// thread starts.
absl::Status enterRootlessNamespaces(const std::string& stateDir);

// At daemon stop: ends the holder (and with it slirp4netns) when no process
// but this one is left in the namespaces, so nothing stays behind once the
// last container is gone.
void releaseRootlessNamespacesIfIdle(const std::string& stateDir);

// `berth __rootless-holder <state dir>`: waits for SIGTERM.
int rootlessHolderMain();

}  // namespace berth::daemon
