#pragma once
#include <string>

namespace berth {

// Random identifiers from the kernel's CSPRNG (getrandom).
std::string newUuid();       // RFC 4122 version 4, "8-4-4-4-12" lowercase hex
std::string newHexId(size_t bytes = 32);  // Docker-style ids: 64 hex chars by default

}  // namespace berth
