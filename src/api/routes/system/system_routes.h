#pragma once
#include <vector>

#include "api/backend/system_backend.h"
#include "api/httputil/exchange.h"

namespace berth::api::routes {

// GET|HEAD /_ping, GET /version, GET /info, GET /events, GET /system/df.
// `backend` must outlive the routes.
std::vector<httputil::RouteSpec> systemRoutes(backend::SystemBackend& backend);

}  // namespace berth::api::routes
