#pragma once
// Image references, parsed and normalised as the docker CLI and dockerd do
// (the distribution "reference" grammar):
//
//   busybox                      → docker.io/library/busybox:latest
//   localhost:5000/team/app:1.0  → localhost:5000/team/app:1.0
//   repo@sha256:<64 hex>         → docker.io/library/repo@sha256:…
//
// Grammar failures are InvalidArgument "invalid reference format" (with
// dockerd's more specific texts where it has them).
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace berth::image {

inline constexpr std::string_view kDefaultDomain = "docker.io";
inline constexpr std::string_view kDefaultTag = "latest";

struct Reference {
  std::string domain;  // "docker.io", "localhost:5000", "[::1]:5000"
  std::string path;    // "library/busybox", "team/app"
  std::string tag;     // empty when absent
  std::string digest;  // "sha256:…", empty when absent

  // "docker.io/library/busybox"
  std::string name() const;
  // "docker.io/library/busybox:latest", "…@sha256:…", or both.
  std::string canonical() const;
  // What the CLI prints: "busybox", "team/app", "localhost:5000/team/app".
  std::string familiarName() const;
  // familiarName() with ":tag" and/or "@digest".
  std::string familiar() const;
};

// Parses and normalises. Adds nothing: a reference without tag or digest
// keeps both empty (see withDefaultTag).
absl::StatusOr<Reference> parseNormalized(std::string_view text);

// The reference with tag "latest" when it has neither tag nor digest.
Reference withDefaultTag(Reference ref);

// True for "sha256:" followed by 64 lowercase hex digits, or any other
// algorithm of the grammar followed by at least 32 hex digits.
bool isValidDigest(std::string_view digest);

// True for a valid tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
bool isValidTag(std::string_view tag);

}  // namespace berth::image
