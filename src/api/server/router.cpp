#include "api/server/router.h"

#include "util/strings.h"

namespace berth::api::server {
namespace {

std::vector<std::string_view> splitPath(std::string_view path) {
  return split(path.substr(path.starts_with('/') ? 1 : 0), '/');
}

}  // namespace

void Router::add(std::string_view method, std::string_view pattern, Handler handler) {
  auto route = std::make_unique<Route>();
  route->method = std::string(method);
  for (std::string_view seg : splitPath(pattern)) {
    Segment s;
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      std::string_view inner = seg.substr(1, seg.size() - 2);
      s.param = true;
      if (inner.ends_with(":.*")) {
        s.rest = true;
        inner.remove_suffix(3);
      }
      s.text = std::string(inner);
    } else {
      s.text = std::string(seg);
    }
    route->segments.push_back(std::move(s));
  }
  route->handler = std::move(handler);
  const Segment& first = route->segments.front();
  byFirst_[first.param ? std::string() : first.text].push_back(route.get());
  routes_.push_back(std::move(route));
}

bool Router::matchSegments(const std::vector<Segment>& pattern, size_t pi, const std::vector<std::string_view>& path,
                           size_t si, PathParams& params) {
  if (pi == pattern.size()) return si == path.size();
  if (si == path.size()) return false;
  const Segment& seg = pattern[pi];
  if (!seg.param) {
    return seg.text == path[si] && matchSegments(pattern, pi + 1, path, si + 1, params);
  }
  if (!seg.rest) {
    if (path[si].empty()) return false;
    if (!matchSegments(pattern, pi + 1, path, si + 1, params)) return false;
    params[seg.text] = std::string(path[si]);
    return true;
  }
  // Greedy: take as many segments as the remaining pattern allows.
  size_t remainingPattern = pattern.size() - pi - 1;
  for (size_t end = path.size() - remainingPattern; end > si; --end) {
    if (matchSegments(pattern, pi + 1, path, end, params)) {
      std::string value;
      for (size_t k = si; k < end; ++k) {
        if (k > si) value.push_back('/');
        value.append(path[k]);
      }
      if (value.empty()) return false;
      params[seg.text] = std::move(value);
      return true;
    }
  }
  return false;
}

const Handler* Router::match(std::string_view method, std::string_view path, PathParams& params) const {
  std::vector<std::string_view> segments = splitPath(path);
  for (std::string_view key : {segments.front(), std::string_view()}) {
    auto it = byFirst_.find(key);
    if (it == byFirst_.end()) continue;
    for (const Route* r : it->second) {
      if (r->method != method) continue;
      params.clear();
      if (matchSegments(r->segments, 0, segments, 0, params)) return &r->handler;
    }
  }
  params.clear();
  return nullptr;
}

}  // namespace berth::api::server
