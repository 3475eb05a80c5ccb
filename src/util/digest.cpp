#include "util/digest.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "util/strings.h"

namespace berth {

struct Sha256::State {
  EVP_MD_CTX* ctx = nullptr;
  ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  // Out of memory or a broken libcrypto: nothing sensible to continue with.
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) std::abort();
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view data) {
  if (EVP_DigestUpdate(state_->ctx, data.data(), data.size()) != 1) std::abort();
}

std::string Sha256::digest() const {
  // Finalize a copy so the running hash can continue.
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (copy == nullptr || EVP_MD_CTX_copy_ex(copy, state_->ctx) != 1 || EVP_DigestFinal_ex(copy, md, &len) != 1) {
    std::abort();
  }
  EVP_MD_CTX_free(copy);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kDigits[md[i] >> 4]);
    out.push_back(kDigits[md[i] & 0xf]);
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
