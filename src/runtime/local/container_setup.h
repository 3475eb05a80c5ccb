#pragma once
// Entry of the hidden `berth __container-setup <dir>` mode (see the .cpp).
namespace berth::runtime::local {

int containerSetupMain(const char* dir);
// `berth __container-exec <exec dir>`: a process in a running container.
int containerExecMain(const char* dir);

}  // namespace berth::runtime::local
