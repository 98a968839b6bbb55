#include "driver/core/hash.h"

#include <openssl/evp.h>

namespace snapvol::core {

Hash Hash::Of(std::string_view data) {
  Hash h;
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), h.bytes_.data(), &len, EVP_sha256(), nullptr);
  return h;
}

Result<Hash> Hash::FromBytes(std::string_view raw) {
  if (raw.size() != kSize) {
    return Status::InvalidArgument("hash must be 32 bytes, got " + std::to_string(raw.size()));
  }
  Hash h;
  std::memcpy(h.bytes_.data(), raw.data(), kSize);
  return h;
}

Result<Hash> Hash::FromHex(std::string_view hex) {
  if (hex.size() != 2 * kSize) return Status::InvalidArgument("hash must be 64 hex digits");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Hash h;
  for (size_t i = 0; i < kSize; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("hash has a non-hex digit");
    h.bytes_[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return h;
}

std::string Hash::Hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(2 * kSize, '0');
  for (size_t i = 0; i < kSize; ++i) {
    s[2 * i] = kDigits[bytes_[i] >> 4];
    s[2 * i + 1] = kDigits[bytes_[i] & 15];
  }
  return s;
}

bool Hash::IsZero() const {
  for (uint8_t b : bytes_)
    if (b) return false;
  return true;
}

Sha256::Sha256() {
  auto* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  ctx_ = ctx;
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::Update(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}

Hash Sha256::Finish() {
  Hash h;
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), h.raw().data(), &len);
  return h;
}

}  // namespace snapvol::core
