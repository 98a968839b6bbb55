#include "driver/store/chunker.h"

#include <array>
#include <bit>

namespace snapvol::store {
namespace {

// 256 fixed pseudo-random 64-bit values (splitmix64 of the index). Part of the
// format: changing them changes every chunk boundary (dedup with old data).
constexpr std::array<uint64_t, 256> MakeGear() {
  std::array<uint64_t, 256> g{};
  uint64_t x = 0x5eed5eed5eed5eedULL;
  for (auto& v : g) {
    x += 0x9e3779b97f4a7c15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    v = z ^ (z >> 31);
  }
  return g;
}
constexpr std::array<uint64_t, 256> kGear = MakeGear();

uint64_t TopBitsMask(int bits) {
  // Use the high bits of the gear hash: they depend on the most bytes.
  return bits <= 0 ? 0 : (~0ULL << (64 - bits));
}

}  // namespace

Chunker::Chunker(ChunkerParams params) : params_(params) {
  int bits = std::bit_width(params_.avg_size) - 1;  // log2(avg)
  mask_small_ = TopBitsMask(bits + 2);
  mask_large_ = TopBitsMask(bits - 2);
}

size_t Chunker::Cut(const uint8_t* data, size_t len, bool eof) const {
  if (len <= params_.min_size) return eof ? len : 0;
  if (len < params_.max_size && !eof) {
    // Only cut with a full window available so the result does not depend on
    // how the caller split its reads.
    return 0;
  }
  size_t end = len < params_.max_size ? len : params_.max_size;
  size_t normal = params_.avg_size < end ? params_.avg_size : end;
  uint64_t h = 0;
  size_t i = params_.min_size;
  for (; i < normal; ++i) {
    h = (h << 1) + kGear[data[i]];
    if ((h & mask_small_) == 0) return i + 1;
  }
  for (; i < end; ++i) {
    h = (h << 1) + kGear[data[i]];
    if ((h & mask_large_) == 0) return i + 1;
  }
  return end;
}

}  // namespace snapvol::store
