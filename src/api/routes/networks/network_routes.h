#pragma once
#include <vector>

#include "api/backend/network_backend.h"
#include "api/httputil/exchange.h"

namespace berth::api::routes {

// GET /networks, POST /networks/create, GET|DELETE /networks/{id},
// POST /networks/{id}/connect|disconnect, POST /networks/prune.
// `backend` must outlive the routes.
std::vector<httputil::RouteSpec> networkRoutes(backend::NetworkBackend& backend);

}  // namespace berth::api::routes
