#include "driver/volume/file_writer.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "driver/store/object_codec.h"
#include "driver/volume/file_reader.h"
#include "tests/volume/test_store.h"

namespace snapvol::volume {
namespace {

using store::ObjectKind;
using testing::HookedObjectStore;
using testing::MemObjectStore;

// Small chunks keep the multi-chunk and FileIndex cases fast.
constexpr store::ChunkerParams kSmall{4096, 8192, 16384};

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&s[i], &v, std::min<size_t>(8, n - i));
  }
  return s;
}

objects::Content Write(store::ObjectStore& objects, std::string_view data,
                       store::ChunkerParams params = {}, size_t piece = 1 << 20) {
  FileWriter w(&objects, params);
  for (size_t off = 0; off < data.size(); off += piece) {
    EXPECT_TRUE(w.Write(data.substr(off, piece)).ok());
  }
  EXPECT_EQ(w.size(), data.size());
  auto c = w.Finish();
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : objects::Content();
}

std::string ReadAll(store::ObjectStore& objects, const objects::Content& c, uint64_t size) {
  auto r = FileReader::Open(&objects, c, size);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return "";
  std::string out;
  Status s = (*r)->ReadAll([&](std::string_view d) {
    out.append(d);
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::vector<std::string> ChunkHashes(store::ObjectStore& objects, const objects::Content& c) {
  std::vector<std::string> out;
  if (!c.index().empty()) {
    auto id = store::HashField(c.index(), "index");
    auto index = store::GetFileIndex(objects, *id);
    EXPECT_TRUE(index.ok());
    for (const auto& r : index->chunks()) out.push_back(r.hash());
    return out;
  }
  for (const auto& r : c.chunks()) out.push_back(r.hash());
  return out;
}

TEST(FileWriterTest, SmallFilesAreInlined) {
  MemObjectStore objects;
  for (size_t n : {size_t{0}, size_t{1}, kInlineLimit}) {
    std::string data = RandomBytes(n, 1);
    objects::Content c = Write(objects, data);
    EXPECT_EQ(c.inline_data(), data);
    EXPECT_EQ(c.chunks_size(), 0);
    EXPECT_TRUE(c.index().empty());
    EXPECT_EQ(ReadAll(objects, c, n), data);
  }
  EXPECT_EQ(objects.Count(ObjectKind::kChunk), 0u);
}

TEST(FileWriterTest, LargerFilesAreChunked) {
  MemObjectStore objects;
  for (size_t n : {kInlineLimit + 1, size_t{1} << 20, size_t{9} << 20}) {
    std::string data = RandomBytes(n, static_cast<uint32_t>(n));
    objects::Content c = Write(objects, data);
    EXPECT_TRUE(c.inline_data().empty());
    ASSERT_GE(c.chunks_size(), 1);
    uint64_t total = 0;
    for (const auto& r : c.chunks()) {
      EXPECT_EQ(r.hash().size(), core::Hash::kSize);
      EXPECT_LE(r.size(), store::ChunkerParams().max_size);
      total += r.size();
    }
    EXPECT_EQ(total, n);
    EXPECT_EQ(ReadAll(objects, c, n), data);
  }
}

TEST(FileWriterTest, ManyChunksGoToAFileIndex) {
  MemObjectStore objects;
  std::string data = RandomBytes(3 << 20, 3);
  objects::Content c = Write(objects, data, kSmall);
  ASSERT_FALSE(c.index().empty());
  EXPECT_EQ(c.chunks_size(), 0);
  EXPECT_GT(ChunkHashes(objects, c).size(), kMaxDirectChunks);
  EXPECT_EQ(ReadAll(objects, c, data.size()), data);
}

TEST(FileWriterTest, ChunkingDoesNotDependOnWriteSizes) {
  MemObjectStore objects;
  std::string data = RandomBytes(2 << 20, 4);
  objects::Content a = Write(objects, data, kSmall, 1 << 20);
  objects::Content b = Write(objects, data, kSmall, 777);
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
}

TEST(FileWriterTest, IdenticalContentIsStoredOnce) {
  MemObjectStore objects;
  std::string data = RandomBytes(6 << 20, 5);
  objects::Content a = Write(objects, data);
  size_t stored = objects.Count(ObjectKind::kChunk);
  objects::Content b = Write(objects, data);
  EXPECT_EQ(ChunkHashes(objects, a), ChunkHashes(objects, b));
  EXPECT_EQ(objects.Count(ObjectKind::kChunk), stored);

  // An insertion near the start changes only the chunks around it.
  std::string shifted = "inserted" + data;
  objects::Content s = Write(objects, shifted, kSmall);
  objects::Content o = Write(objects, data, kSmall);
  auto hs = ChunkHashes(objects, s), ho = ChunkHashes(objects, o);
  std::set<std::string> orig(ho.begin(), ho.end());
  size_t shared = 0;
  for (const auto& h : hs) shared += orig.count(h);
  EXPECT_GE(shared + 3, ho.size());
}

TEST(FileWriterTest, HolesStoreNothing) {
  MemObjectStore objects;
  FileWriter w(&objects, kSmall);
  std::string head = RandomBytes(20'000, 6), tail = RandomBytes(30'000, 7);
  ASSERT_TRUE(w.Write(head).ok());
  ASSERT_TRUE(w.WriteHole(1'000'000).ok());
  ASSERT_TRUE(w.WriteHole(24'000).ok());
  ASSERT_TRUE(w.Write(tail).ok());
  auto c = w.Finish();
  ASSERT_TRUE(c.ok());
  int holes = 0;
  for (const auto& r : c->chunks()) {
    if (r.hash().empty()) {
      ++holes;
      EXPECT_EQ(r.size(), 1'024'000u);
    }
  }
  EXPECT_EQ(holes, 1);  // adjacent holes merge
  std::string want = head + std::string(1'024'000, '\0') + tail;
  EXPECT_EQ(ReadAll(objects, *c, want.size()), want);
}

TEST(FileWriterTest, HugeSparseFile) {
  MemObjectStore objects;
  FileWriter w(&objects);
  constexpr uint64_t kTiB = uint64_t{1} << 40;
  ASSERT_TRUE(w.Write("start").ok());
  ASSERT_TRUE(w.WriteHole(kTiB).ok());
  ASSERT_TRUE(w.Write("end").ok());
  EXPECT_EQ(w.size(), kTiB + 8);
  auto c = w.Finish();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(objects.Count(ObjectKind::kChunk), 2u);
  auto r = FileReader::Open(&objects, *c, kTiB + 8);
  ASSERT_TRUE(r.ok());
  char buf[16];
  auto n = (*r)->ReadAt(kTiB + 2, sizeof(buf), buf);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 6u);
  EXPECT_EQ(std::string(buf, 6), std::string("\0\0\0end", 6));
}

TEST(FileWriterTest, SmallHoleStaysInline) {
  MemObjectStore objects;
  FileWriter w(&objects);
  ASSERT_TRUE(w.Write("ab").ok());
  ASSERT_TRUE(w.WriteHole(3).ok());
  ASSERT_TRUE(w.Write("c").ok());
  auto c = w.Finish();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->inline_data(), std::string("ab\0\0\0c", 6));
}

TEST(FileWriterTest, StoreErrorsSurface) {
  MemObjectStore mem;
  HookedObjectStore objects(&mem);
  objects.before_put = [](ObjectKind) { return Status::FromErrno(ENOSPC, "put"); };
  FileWriter w(&objects);
  std::string data = RandomBytes(12 << 20, 8);
  // The failure may surface here or, from a worker, only at Finish.
  (void)w.Write(data);
  auto c = w.Finish();
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(c.status().sys_errno(), ENOSPC);
  EXPECT_FALSE(w.Write("more").ok());
}

// A put hashes each chunk once: the writer lets the store name the chunk
// (PutContent) instead of hashing it and having Put hash it again to check.
TEST(FileWriterTest, ChunksAreNamedByTheStoreNotHashedTwice) {
  MemObjectStore mem;
  HookedObjectStore objects(&mem);
  std::string data = RandomBytes(300'000, 9);
  objects::Content c = Write(objects, data, kSmall, 50'000);
  size_t chunks = ChunkHashes(objects, c).size();
  ASSERT_GT(chunks, 2u);
  EXPECT_EQ(objects.puts[static_cast<int>(ObjectKind::kChunk)].load(), 0);
  EXPECT_EQ(objects.put_contents[static_cast<int>(ObjectKind::kChunk)].load(),
            static_cast<int>(chunks));
  EXPECT_EQ(ReadAll(objects, c, data.size()), data);
}

TEST(FileWriterTest, FinishTwiceFails) {
  MemObjectStore objects;
  FileWriter w(&objects);
  ASSERT_TRUE(w.Finish().ok());
  EXPECT_TRUE(w.Finish().status().Is(core::Code::kFailedPrecondition));
}

}  // namespace
}  // namespace snapvol::volume
