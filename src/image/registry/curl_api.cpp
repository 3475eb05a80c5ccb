#include "image/registry/curl_api.h"

#include <mutex>

namespace berth::registry {

absl::StatusOr<const CurlApi*> curlApi() {
  absl::StatusOr<const CurlApi*> api = loadLazy<CurlApi>("libcurl.so.4", "libcurl4", [](LazyResolver& r, CurlApi& a) {
    BERTH_CURL_SYMBOLS(BERTH_LAZY_RESOLVE)
  });
  if (!api.ok()) return api;
  static std::once_flag once;
  static CURLcode initCode = CURLE_OK;
  std::call_once(once, [&] { initCode = (*api)->curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (initCode != CURLE_OK) return absl::InternalError("curl_global_init failed");
  return api;
}

}  // namespace berth::registry
