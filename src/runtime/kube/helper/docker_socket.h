#pragma once
// The sidecar's end of a Docker socket in a pod (`serve --docker-socket`):
// clients connect to a unix socket at `path`; Berth reaches the sidecar
// only through pods/portforward to 127.0.0.1:`port` (nothing listens on
// the pod network). Each connection from Berth starts with one byte: 'C'
// makes it the control connection, on which the broker writes 'N' for
// every client waiting; 'D' is a data connection, joined to the client
// that has waited longest and relayed in a process of its own
// (tunnel_relay.h: the client's bytes cross in frames, so its half-close can).
namespace berth::kubehelper {

int dockerSocket(const char* path, int port);

}  // namespace berth::kubehelper
