#pragma once
#include <vector>

#include "api/backend/image_backend.h"
#include "api/httputil/exchange.h"

namespace berth::api::routes {

// POST /images/create (pull), GET /images/json, GET /images/{name}/json,
// /history, /tag, DELETE /images/{name}, POST /images/prune, POST /auth.
// `backend` must outlive the routes.
std::vector<httputil::RouteSpec> imageRoutes(backend::ImageBackend& backend);

}  // namespace berth::api::routes
