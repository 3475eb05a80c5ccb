#pragma once
// libcurl, loaded on the first registry request (util/lazy_library.h says why).
#include <curl/curl.h>

#include "absl/status/statusor.h"
#include "util/lazy_library.h"

namespace berth::registry {

#define BERTH_CURL_SYMBOLS(X) \
  X(curl_global_init)         \
  X(curl_easy_init)           \
  X(curl_easy_cleanup)        \
  X(curl_easy_reset)          \
  X(curl_easy_setopt)         \
  X(curl_easy_perform)        \
  X(curl_easy_getinfo)        \
  X(curl_easy_strerror)       \
  X(curl_slist_append)        \
  X(curl_slist_free_all)

struct CurlApi {
  BERTH_CURL_SYMBOLS(BERTH_LAZY_FIELD)
};

// Loads libcurl and runs curl_global_init once.
absl::StatusOr<const CurlApi*> curlApi();

}  // namespace berth::registry
