#pragma once
// Route table: method + path pattern → handler. Patterns are '/'-separated
// segments: a literal, "{name}" (one non-empty segment) or "{name:.*}" (one
// or more segments, for image names with slashes, as in
// "/images/{name:.*}/json"). Build once at start, then read-only: match() is
// thread-safe.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without including it
#include <boost/asio/awaitable.hpp>

#include "absl/status/status.h"
#include "api/httputil/exchange.h"

namespace berth::api::server {

using httputil::Handler;
using PathParams = std::map<std::string, std::string, std::less<>>;

class Router {
 public:
  // Later routes do not override earlier ones: the first match wins.
  void add(std::string_view method, std::string_view pattern, Handler handler);
  void add(std::vector<httputil::RouteSpec> routes) {
    for (auto& r : routes) add(r.method, r.pattern, std::move(r.handler));
  }

  // The handler for `method` and `path`, filling `params`; nullptr if none
  // (dockerd answers both unknown paths and wrong methods with 404).
  const Handler* match(std::string_view method, std::string_view path, PathParams& params) const;

  size_t size() const { return routes_.size(); }

 private:
  struct Segment {
    std::string text;  // literal text, or the parameter name
    bool param = false;
    bool rest = false;  // "{name:.*}"
  };
  struct Route {
    std::string method;
    std::vector<Segment> segments;
    Handler handler;
  };
  static bool matchSegments(const std::vector<Segment>& pattern, size_t pi, const std::vector<std::string_view>& path,
                            size_t si, PathParams& params);

  std::vector<std::unique_ptr<Route>> routes_;
  // Heterogeneous lookup: match() finds by string_view without a copy.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Routes indexed by their first literal segment; routes starting with a
  // parameter live under "".
  std::unordered_map<std::string, std::vector<const Route*>, Hash, std::equal_to<>> byFirst_;
};

}  // namespace berth::api::server
