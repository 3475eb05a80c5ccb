#pragma once
#include <vector>

#include "api/httputil/exchange.h"

namespace berth::api::routes {

// Every endpoint of API 1.51 that Berth does not serve yet answers 501 with a
// message naming it (docs/api-coverage.md lists them). Endpoints that take a
// JSON body check it first, so a malformed request still gets its 400.
std::vector<httputil::RouteSpec> unimplementedRoutes();

// Swarm-mode endpoints answer as dockerd does on a node outside a swarm: 503.
std::vector<httputil::RouteSpec> swarmRoutes();

}  // namespace berth::api::routes
