#pragma once
#include <vector>

#include "api/backend/container_backend.h"
#include "api/httputil/exchange.h"

namespace berth::api::routes {

// attach, logs, wait, stop, restart, stats: the routes that hold the connection.
std::vector<httputil::RouteSpec> containerStreamRoutes(backend::ContainerBackend& backend);

}  // namespace berth::api::routes
