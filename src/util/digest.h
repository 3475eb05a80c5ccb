#pragma once
// SHA-256 digests in the OCI form "sha256:<64 lowercase hex>" (OpenSSL).
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace berth {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(std::string_view data);
  // "sha256:…" of everything updated so far; the hasher can keep going.
  std::string digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256Digest(std::string_view data);

// The 64 hex characters of a valid "sha256:<hex>" digest; InvalidArgument
// otherwise (uppercase hex is refused, as OCI digests are lowercase).
absl::StatusOr<std::string_view> sha256Hex(std::string_view digest);

}  // namespace berth
