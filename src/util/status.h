#pragma once
// Error model (docs/design/errors.md): every layer below the API returns
// absl::Status / absl::StatusOr with a canonical code; api/server/error_status.cpp
// is the one place that turns a code into an HTTP status.
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "util/strings.h"

namespace berth {

// Status for a failed syscall: "what: strerror(errno)", keeping the errno's kind.
inline absl::Status errnoStatus(int err, std::string_view what) {
  std::string msg = strCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT: return absl::NotFoundError(msg);
    case EEXIST: return absl::AlreadyExistsError(msg);
    case EACCES:
    case EPERM: return absl::PermissionDeniedError(msg);
    case EINVAL: return absl::InvalidArgumentError(msg);
    case EBUSY:
    case EADDRINUSE: return absl::FailedPreconditionError(msg);
    default: return absl::InternalError(msg);
  }
}

// Adds caller context in front of the message, keeping the code ("ctx: msg").
inline absl::Status wrap(const absl::Status& s, std::string_view ctx) {
  if (s.ok()) return s;
  return absl::Status(s.code(), strCat(ctx, ": ", s.message()));
}

}  // namespace berth

#define BERTH_CONCAT_INNER_(a, b) a##b
#define BERTH_CONCAT_(a, b) BERTH_CONCAT_INNER_(a, b)

#define BERTH_RETURN_IF_ERROR(expr)          \
  do {                                       \
    ::absl::Status berth_status_ = (expr);   \
    if (!berth_status_.ok()) return berth_status_; \
  } while (0)

#define BERTH_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(*tmp)

#define BERTH_ASSIGN_OR_RETURN(lhs, expr) \
  BERTH_ASSIGN_OR_RETURN_IMPL_(BERTH_CONCAT_(berth_statusor_, __LINE__), lhs, expr)
