#pragma once
// Runs a helper program (ps, nft) without a shell — arguments may come from
// clients — and returns what it printed.
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace berth {

// stdout and stderr together; `input` is its stdin. A non-zero exit is an
// error "<program>: <its output>".
absl::StatusOr<std::string> runProgram(const std::vector<std::string>& args, std::string_view input = {});

}  // namespace berth
