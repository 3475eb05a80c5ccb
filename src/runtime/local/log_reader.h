#pragma once
// Reads the monitor's log files (runtime/log_record.h): the rotated ones
// oldest first, then the live one, and follows the live one across
// rotations while the container runs.
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/runtime.h"

namespace berth::runtime::local {

// `dirFd`-relative files of one container directory `dir`.
absl::StatusOr<std::unique_ptr<LogCursor>> openLogCursor(const std::string& dir, int64_t tail);

}  // namespace berth::runtime::local
