// Fuzzes what the server does with the bytes of a request before any
// handler runs: Beast's parser with the server's limits, then target
// splitting, percent-decoding, the version prefix, the query string, and the
// since/until/filters parameters every list endpoint reads.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/httputil/query.h"
#include "api/server/api_version.h"
#include "api/types/filters.h"
#include "util/timestamp.h"

namespace http = boost::beast::http;
using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(256 * 1024);
  parser.body_limit(1024 * 1024);
  parser.eager(true);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;

  std::string_view target = parser.get().target();
  size_t q = target.find('?');
  auto path = api::httputil::percentDecode(target.substr(0, q), false);
  if (path.ok()) {
    api::server::VersionedPath vp = api::server::splitVersionPrefix(*path);
    if (!vp.version.empty()) (void)api::server::checkApiVersion(vp.version);
  }
  if (q == std::string_view::npos) return 0;
  auto query = api::httputil::Query::parse(target.substr(q + 1));
  if (!query.ok()) return 0;
  (void)query->boolValue("all");
  (void)query->intValue("limit");
  if (auto since = query->get("since")) (void)parseApiTimestamp(*since);
  if (auto filters = query->get("filters")) (void)api::types::parseFilters(*filters);
  return 0;
}
