#pragma once
// Registry credentials and the challenges registries answer with.
//
// Credentials reach the daemon as JSON: base64 in the X-Registry-Auth header
// of pull/push/distribution requests, and the body of POST /auth. The JSON
// keys are dockerd's (username, password, auth, email, serveraddress,
// identitytoken, registrytoken).
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::registry {

struct AuthConfig {
  std::string username;
  std::string password;
  std::string serverAddress;
  std::string identityToken;  // OAuth refresh token
  std::string registryToken;  // a bearer token used as is

  bool empty() const { return username.empty() && identityToken.empty() && registryToken.empty(); }
};

// From JSON text. "auth" (base64 "user:pass") fills username and password
// when they are absent. InvalidArgument for malformed JSON.
absl::StatusOr<AuthConfig> parseAuthConfig(std::string_view json);

// From an X-Registry-Auth header; an empty header gives empty credentials.
// InvalidArgument with dockerd's wording for an undecodable one.
absl::StatusOr<AuthConfig> decodeRegistryAuth(std::string_view header);

// One challenge of a WWW-Authenticate header: scheme lower-cased,
// parameter names lower-cased, values unquoted.
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};

// Parses RFC 7235 challenges: `Bearer realm="…",service="…",scope="…"`,
// `Basic realm="…"`; several may share a header. Unparseable text yields
// whatever challenges were complete before it.
std::vector<Challenge> parseChallenges(std::string_view header);

}  // namespace berth::registry
