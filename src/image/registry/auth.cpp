#include "image/registry/auth.h"

#include <nlohmann/json.hpp>

#include "util/base64.h"
#include "util/strings.h"

namespace berth::registry {
namespace {

std::string stringField(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return (it != j.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

bool isTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~/=").find(c) != std::string_view::npos;
}

}  // namespace

absl::StatusOr<AuthConfig> parseAuthConfig(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("invalid auth configuration: not a JSON object");
  AuthConfig a;
  a.username = stringField(j, "username");
  a.password = stringField(j, "password");
  a.serverAddress = stringField(j, "serveraddress");
  a.identityToken = stringField(j, "identitytoken");
  a.registryToken = stringField(j, "registrytoken");
  std::string packed = stringField(j, "auth");
  if (!packed.empty() && a.username.empty()) {
    std::optional<std::string> decoded = base64Decode(packed);
    if (!decoded) return absl::InvalidArgumentError("invalid auth configuration: auth is not base64");
    auto [user, pass] = splitOnce(*decoded, ':');
    if (pass.data() == nullptr) return absl::InvalidArgumentError("invalid auth configuration: auth lacks ':'");
    a.username = std::string(user);
    a.password = std::string(pass);
  }
  return a;
}

absl::StatusOr<AuthConfig> decodeRegistryAuth(std::string_view header) {
  header = trim(header);
  if (header.empty()) return AuthConfig{};
  std::optional<std::string> json = base64Decode(header);
  if (!json) return absl::InvalidArgumentError("invalid X-Registry-Auth header: malformed base64");
  absl::StatusOr<AuthConfig> a = parseAuthConfig(*json);
  if (!a.ok()) return absl::InvalidArgumentError(strCat("invalid X-Registry-Auth header: ", a.status().message()));
  return a;
}

std::vector<Challenge> parseChallenges(std::string_view s) {
  std::vector<Challenge> out;
  size_t i = 0;
  auto skipSpace = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  };
  auto token = [&] {
    size_t start = i;
    while (i < s.size() && isTokenChar(s[i]) && s[i] != '=') ++i;
    return s.substr(start, i - start);
  };
  while (i < s.size()) {
    skipSpace();
    while (i < s.size() && s[i] == ',') ++i, skipSpace();
    std::string_view scheme = token();
    if (scheme.empty()) break;
    Challenge c;
    c.scheme = toLower(scheme);
    // Parameters: name=value or name="quoted", comma separated, until the
    // next bare token (the next challenge's scheme).
    for (;;) {
      skipSpace();
      size_t save = i;
      std::string_view name = token();
      skipSpace();
      if (name.empty() || i >= s.size() || s[i] != '=') {
        i = save;
        break;
      }
      ++i;
      skipSpace();
      std::string value;
      if (i < s.size() && s[i] == '"') {
        ++i;
        bool closed = false;
        while (i < s.size()) {
          char ch = s[i++];
          if (ch == '\\' && i < s.size()) {
            value.push_back(s[i++]);
          } else if (ch == '"') {
            closed = true;
            break;
          } else {
            value.push_back(ch);
          }
        }
        if (!closed) return out;
      } else {
        while (i < s.size() && s[i] != ',' && s[i] != ' ') value.push_back(s[i++]);
      }
      c.params[toLower(name)] = std::move(value);
      skipSpace();
      if (i < s.size() && s[i] == ',') ++i;
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace berth::registry
