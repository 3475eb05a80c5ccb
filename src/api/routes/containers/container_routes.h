#pragma once
#include <vector>

#include "api/backend/container_backend.h"
#include "api/httputil/exchange.h"

namespace berth::api::routes {

// POST /containers/create, GET /containers/json, GET /containers/{id}/json,
// POST /containers/{id}/rename, DELETE /containers/{id}, POST /containers/prune.
// `backend` must outlive the routes.
std::vector<httputil::RouteSpec> containerRoutes(backend::ContainerBackend& backend);

}  // namespace berth::api::routes
