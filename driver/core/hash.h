// Hash: a SHA-256 digest naming a stored object.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "driver/core/result.h"

namespace snapvol::core {

class Hash {
 public:
  static constexpr size_t kSize = 32;

  Hash() { bytes_.fill(0); }
  // SHA-256 of `data` (OpenSSL). Thread-safe.
  static Hash Of(std::string_view data);
  // From 32 raw bytes; InvalidArgument otherwise.
  static Result<Hash> FromBytes(std::string_view raw);
  // From 64 lowercase/uppercase hex digits; InvalidArgument otherwise.
  static Result<Hash> FromHex(std::string_view hex);

  std::string Hex() const;
  std::string_view Bytes() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  bool IsZero() const;

  bool operator==(const Hash& o) const { return bytes_ == o.bytes_; }
  bool operator!=(const Hash& o) const { return bytes_ != o.bytes_; }
  bool operator<(const Hash& o) const { return bytes_ < o.bytes_; }
  const std::array<uint8_t, kSize>& raw() const { return bytes_; }
  std::array<uint8_t, kSize>& raw() { return bytes_; }

 private:
  std::array<uint8_t, kSize> bytes_;
};

// Incremental SHA-256 for streams.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  Hash Finish();

 private:
  void* ctx_;
};

struct HashHasher {
  size_t operator()(const Hash& h) const {
    size_t v;
    std::memcpy(&v, h.raw().data(), sizeof(v));
    return v;
  }
};

}  // namespace snapvol::core
