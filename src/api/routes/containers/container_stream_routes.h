#pragma once
#include <vector>

#include "api/backend/container_backend.h"
#include "api/httputil/exchange.h"

namespace berth::api::routes {

// attach, logs, wait, stop, restart, stats, exec, archive, export: the
// routes that hold the connection.
std::vector<httputil::RouteSpec> containerStreamRoutes(backend::ContainerBackend& backend);

// The `h` and `w` of a resize request (containers and exec): rows, columns.
absl::StatusOr<std::pair<unsigned, unsigned>> terminalSize(const httputil::Query& query);

}  // namespace berth::api::routes
