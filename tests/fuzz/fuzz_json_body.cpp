// Fuzzes JSON decoding of request bodies and of the filters parameter, the
// type checks of request bodies, and the config-file reader that consumes
// the decoded value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/httputil/json_body.h"
#include "api/types/body_schema.h"
#include "api/types/filters.h"
#include "daemon/config.h"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)api::types::parseFilters(text);
  auto body = api::httputil::parseJsonBody(text);
  if (body.ok()) {
    for (const auto* schema : {&api::types::kContainerCreateBody, &api::types::kContainerUpdateBody,
                               &api::types::kExecCreateBody, &api::types::kNetworkCreateBody,
                               &api::types::kNetworkConnectBody, &api::types::kVolumeCreateBody}) {
      (void)api::types::checkBodyTypes(*body, *schema);
    }
    daemon::DaemonConfig cfg;
    (void)daemon::applyConfigJson(*body, {"host"}, cfg);
    (void)daemon::validate(cfg);
  }
  return 0;
}
