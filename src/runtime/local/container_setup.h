#pragma once
// Entry of the hidden `berth __container-setup <dir>` mode (see the .cpp).
namespace berth::runtime::local {

int containerSetupMain(const char* dir);

}  // namespace berth::runtime::local
