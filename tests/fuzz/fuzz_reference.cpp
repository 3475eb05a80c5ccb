// Fuzzes image reference parsing and normalisation: every accepted
// reference must print back to a canonical form that parses to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "image/reference.h"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ref = image::parseNormalized(text);
  if (!ref.ok()) return 0;
  image::Reference full = image::withDefaultTag(*ref);
  auto again = image::parseNormalized(full.canonical());
  if (!again.ok() || again->canonical() != full.canonical()) std::abort();
  // The familiar form drops "docker.io/", so it names the same image only
  // when its first component cannot be read as a registry ("foo.bar/baz" on
  // Docker Hub prints as "foo.bar/baz", a registry reference): dockerd has the
  // same ambiguity, and Berth keeps its behaviour.
  std::string name = full.familiarName();
  std::string_view first = std::string_view(name).substr(0, name.find('/'));
  bool ambiguous = full.domain == image::kDefaultDomain && name.find('/') != std::string::npos &&
                   (first.find_first_of(".:") != std::string_view::npos || first == "localhost");
  if (!ambiguous) {
    auto familiar = image::parseNormalized(full.familiar());
    if (!familiar.ok() || familiar->canonical() != full.canonical()) std::abort();
  }
  return 0;
}
