#include "driver/store/chunker.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "driver/core/hash.h"

namespace snapvol::store {
namespace {

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
  }
  return s;
}

// Chunks `data` as a streaming reader would, feeding it in reads of
// `read_size` bytes; returns the chunk lengths.
std::vector<size_t> ChunkStream(const Chunker& chunker, const std::string& data, size_t read_size) {
  std::vector<size_t> out;
  std::string buf;
  size_t pos = 0;
  for (;;) {
    bool eof = pos == data.size();
    if (!eof) {
      size_t n = std::min(read_size, data.size() - pos);
      buf.append(data, pos, n);
      pos += n;
      eof = pos == data.size();
    }
    for (;;) {
      if (buf.empty()) break;
      size_t cut = chunker.Cut(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), eof);
      if (cut == 0) break;
      out.push_back(cut);
      buf.erase(0, cut);
    }
    if (eof && buf.empty()) break;
  }
  return out;
}

std::vector<core::Hash> ChunkHashes(const std::string& data, const std::vector<size_t>& lens) {
  std::vector<core::Hash> out;
  size_t off = 0;
  for (size_t len : lens) {
    out.push_back(core::Hash::Of(std::string_view(data).substr(off, len)));
    off += len;
  }
  return out;
}

constexpr ChunkerParams kSmall{.min_size = 2048, .avg_size = 4096, .max_size = 8192};

TEST(ChunkerTest, CutsAreDeterministicAndWithinBounds) {
  Chunker chunker(kSmall);
  std::string data = RandomBytes(1 << 20, 1);
  auto a = ChunkStream(chunker, data, data.size());
  auto b = ChunkStream(chunker, data, data.size());
  EXPECT_EQ(a, b);
  ASSERT_GT(a.size(), 100u);
  size_t total = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    total += a[i];
    EXPECT_LE(a[i], kSmall.max_size);
    if (i + 1 < a.size()) {
      EXPECT_GE(a[i], kSmall.min_size) << i;  // only the last may be short
    }
  }
  EXPECT_EQ(total, data.size());
  // Content-defined: not all chunks hit the maximum.
  size_t at_max = std::count(a.begin(), a.end(), kSmall.max_size);
  EXPECT_LT(at_max, a.size() / 4);
}

TEST(ChunkerTest, DefaultParametersStayWithinOneToFourMiB) {
  Chunker chunker;
  std::string data = RandomBytes(24 << 20, 2);
  auto lens = ChunkStream(chunker, data, 1 << 20);
  ASSERT_GE(lens.size(), 6u);
  for (size_t i = 0; i + 1 < lens.size(); ++i) {
    EXPECT_GE(lens[i], size_t{1} << 20);
    EXPECT_LE(lens[i], size_t{4} << 20);
  }
}

TEST(ChunkerTest, CutsDoNotDependOnHowInputIsSplitIntoReads) {
  Chunker chunker(kSmall);
  std::string data = RandomBytes(300000, 3);
  auto whole = ChunkStream(chunker, data, data.size());
  for (size_t read_size : {size_t{1}, size_t{7}, size_t{4096}, size_t{8192}, size_t{65537}}) {
    EXPECT_EQ(ChunkStream(chunker, data, read_size), whole) << "read size " << read_size;
  }
}

TEST(ChunkerTest, EarlyInsertionLeavesLaterChunksUnchanged) {
  Chunker chunker(kSmall);
  std::string data = RandomBytes(500000, 4);
  std::string edited = data;
  edited.insert(100, "inserted bytes that shift everything after them");
  auto before = ChunkHashes(data, ChunkStream(chunker, data, 65536));
  auto after = ChunkHashes(edited, ChunkStream(chunker, edited, 65536));
  ASSERT_GT(before.size(), 50u);
  // Boundaries resynchronize within a couple of chunks; from there on the
  // chunk sequences are identical.
  size_t common = 0;
  while (common < before.size() && common < after.size() &&
         before[before.size() - 1 - common] == after[after.size() - 1 - common]) {
    ++common;
  }
  EXPECT_GE(common, before.size() - 2);
  EXPECT_NE(before[0], after[0]);
}

TEST(ChunkerTest, ShortInputs) {
  Chunker chunker(kSmall);
  std::string data = RandomBytes(100, 5);
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  EXPECT_EQ(chunker.Cut(p, data.size(), /*eof=*/false), 0u);  // needs more data
  EXPECT_EQ(chunker.Cut(p, data.size(), /*eof=*/true), data.size());
  EXPECT_EQ(chunker.Cut(p, 1, /*eof=*/true), 1u);
  std::string big = RandomBytes(kSmall.max_size * 2, 6);
  size_t cut = chunker.Cut(reinterpret_cast<const uint8_t*>(big.data()), big.size(), false);
  EXPECT_GE(cut, kSmall.min_size);
  EXPECT_LE(cut, kSmall.max_size);
}

TEST(ChunkerTest, ZerosCutAtMaximum) {
  Chunker chunker(kSmall);
  std::string zeros(kSmall.max_size * 3, '\0');
  auto lens = ChunkStream(chunker, zeros, 4096);
  EXPECT_EQ(lens, (std::vector<size_t>{kSmall.max_size, kSmall.max_size, kSmall.max_size}));
}

}  // namespace
}  // namespace snapvol::store
