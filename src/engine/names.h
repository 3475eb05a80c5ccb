#pragma once
// Container names: dockerd's validity rule, and generated names for
// containers created without one ("steady_harbor"), Berth's own word lists.
#include <string>
#include <string_view>

namespace berth::engine {

// [a-zA-Z0-9][a-zA-Z0-9_.-]+ after an optional leading "/".
bool isValidContainerName(std::string_view name);

// adjective_noun; with `retry` > 0 a digit is appended, as dockerd does
// when its first picks were taken.
std::string generateContainerName(int retry);

}  // namespace berth::engine
