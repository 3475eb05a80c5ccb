#pragma once
// Base64 (RFC 4648) for registry credentials: the docker CLI sends
// X-Registry-Auth in the URL-safe alphabet, other clients in the standard
// one, with or without padding; decoding accepts all of these.
#include <optional>
#include <string>
#include <string_view>

namespace berth {

std::string base64Encode(std::string_view data);
// nullopt on a character outside both alphabets or a malformed length.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace berth
