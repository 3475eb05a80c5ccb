#pragma once
#include <vector>

#include "api/backend/volume_backend.h"
#include "api/httputil/exchange.h"

namespace berth::api::routes {

// GET /volumes, POST /volumes/create, GET|DELETE /volumes/{name},
// POST /volumes/prune. `backend` must outlive the routes.
std::vector<httputil::RouteSpec> volumeRoutes(backend::VolumeBackend& backend);

}  // namespace berth::api::routes
