#include "util/digest.h"

// The SHA256_* functions are deprecated in OpenSSL 3 in favour of EVP, but
// they are the same code without the provider machinery: EVP's first digest
// loads and initialises the default provider, which leaves ~2 MB of
// libcrypto resident in a daemon that only ever hashes with SHA-256.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "util/strings.h"

namespace berth {

struct Sha256::State {
  SHA256_CTX ctx;
};

Sha256::Sha256() : state_(std::make_unique<State>()) { SHA256_Init(&state_->ctx); }

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view data) { SHA256_Update(&state_->ctx, data.data(), data.size()); }

std::string Sha256::digest() const {
  // Finalize a copy so the running hash can continue.
  SHA256_CTX copy = state_->ctx;
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_Final(md, &copy);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned char byte : md) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0xf]);
  }
  return out;
}

std::string sha256Digest(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.digest();
}

absl::StatusOr<std::string_view> sha256Hex(std::string_view digest) {
  std::string_view hex = digest;
  if (!consumePrefix(hex, "sha256:") || hex.size() != 64) {
    return absl::InvalidArgumentError(strCat("invalid digest \"", digest, "\": want sha256:<64 hex digits>"));
  }
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return absl::InvalidArgumentError(strCat("invalid digest \"", digest, "\": want sha256:<64 hex digits>"));
    }
  }
  return hex;
}

}  // namespace berth
