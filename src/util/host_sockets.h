#pragma once
// A rootless daemon lives in its own user and network namespaces
// (daemon/rootless_namespaces.h). Sockets that must reach the host's network
// — TCP API listeners, published ports, registry connections — are made by
// the parent process that stayed in the host's namespaces and passed over a
// socketpair (SCM_RIGHTS): a socket keeps the namespace it was made in, so
// the daemon binds, listens and connects on it as usual (RootlessKit's
// "builtin" port driver idea).
#include "absl/status/statusor.h"
#include "util/unique_fd.h"

namespace berth {

// Makes hostSocket() ask the parent over `channel` (a SOCK_SEQPACKET end).
// Called once, before any other thread starts; without it hostSocket() is
// plain socket(). An invalid fd goes back to plain socket() (for tests).
void useHostSocketChannel(UniqueFd channel);

// True once useHostSocketChannel() was called (the daemon is rootless and
// its own network namespace is not the host's).
bool hostSocketsFromParent();

// socket(domain, type | SOCK_CLOEXEC, protocol) in the host's network
// namespace. Thread-safe.
absl::StatusOr<UniqueFd> hostSocket(int domain, int type, int protocol = 0);

// Where a served request's socket comes from: made here (the host-side
// parent), or asked of this process's own parent in turn (a rootless daemon
// serving its HTTP helper).
enum class SocketSource { kHere, kRelayToParent };

// The parent's side: answers one request read from `channel`. Returns false
// when the channel is closed (the daemon went away).
bool serveHostSocketRequest(int channel, SocketSource source = SocketSource::kHere);

}  // namespace berth
