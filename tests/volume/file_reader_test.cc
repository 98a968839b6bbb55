#include "driver/volume/file_reader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "driver/store/local/local_object_store.h"
#include "driver/store/object_codec.h"
#include "driver/volume/file_writer.h"
#include "tests/volume/test_store.h"

namespace snapvol::volume {
namespace {

using core::Hash;
using store::ObjectKind;
using testing::MemObjectStore;

constexpr store::ChunkerParams kSmall{4096, 8192, 16384};

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// A file of data, a hole and more data, with small chunks and a FileIndex.
struct Sample {
  std::string bytes;
  objects::Content content;
};

Sample MakeSample(store::ObjectStore& objects) {
  Sample s;
  FileWriter w(&objects, kSmall);
  std::string a = RandomBytes(700'000, 1), b = RandomBytes(300'000, 2);
  EXPECT_TRUE(w.Write(a).ok());
  EXPECT_TRUE(w.WriteHole(123'457).ok());
  EXPECT_TRUE(w.Write(b).ok());
  auto c = w.Finish();
  EXPECT_TRUE(c.ok());
  s.bytes = a + std::string(123'457, '\0') + b;
  s.content = *c;
  return s;
}

TEST(FileReaderTest, RandomReadAtEqualsSource) {
  MemObjectStore objects;
  Sample s = MakeSample(objects);
  ASSERT_FALSE(s.content.index().empty());
  auto r = FileReader::Open(&objects, s.content, s.bytes.size());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->size(), s.bytes.size());
  std::mt19937 rng(99);
  std::string buf;
  for (int i = 0; i < 2000; ++i) {
    uint64_t off = rng() % (s.bytes.size() + 100);
    size_t n = rng() % (i % 10 == 0 ? 100'000 : 5000);
    buf.assign(n, '?');
    auto got = (*r)->ReadAt(off, n, buf.data());
    ASSERT_TRUE(got.ok());
    size_t want = off >= s.bytes.size() ? 0 : std::min<size_t>(n, s.bytes.size() - off);
    ASSERT_EQ(*got, want) << off << " " << n;
    if (want) {
      ASSERT_EQ(buf.substr(0, want), s.bytes.substr(off, want)) << off << " " << n;
    }
  }
}

TEST(FileReaderTest, ReadAllStreamsInOrder) {
  MemObjectStore objects;
  Sample s = MakeSample(objects);
  auto r = FileReader::Open(&objects, s.content, s.bytes.size());
  ASSERT_TRUE(r.ok());
  std::string out;
  ASSERT_TRUE((*r)->ReadAll([&](std::string_view d) {
                    out.append(d);
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(out, s.bytes);
}

TEST(FileReaderTest, InlineAndEmpty) {
  MemObjectStore objects;
  objects::Content c;
  c.set_inline_data("hello");
  auto r = FileReader::Open(&objects, c, 5);
  ASSERT_TRUE(r.ok());
  char buf[8];
  auto n = (*r)->ReadAt(1, 8, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "ello");
  auto e = FileReader::Open(&objects, objects::Content(), 0);
  ASSERT_TRUE(e.ok());
  auto z = (*e)->ReadAt(0, 8, buf);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(*z, 0u);
}

TEST(FileReaderTest, CorruptChunkIsAnErrorNeverWrongBytes) {
  MemObjectStore objects;
  std::string data = RandomBytes(200'000, 3);
  FileWriter w(&objects, kSmall);
  ASSERT_TRUE(w.Write(data).ok());
  auto c = w.Finish();
  ASSERT_TRUE(c.ok());
  ASSERT_GE(c->chunks_size(), 3);
  auto victim = store::HashField(c->chunks(2).hash(), "chunk");
  ASSERT_TRUE(victim.ok());
  objects.Corrupt(*victim);
  uint64_t victim_off = c->chunks(0).size() + c->chunks(1).size();

  auto r = FileReader::Open(&objects, *c, data.size());
  ASSERT_TRUE(r.ok());
  std::string buf(100, '\0');
  auto ok = (*r)->ReadAt(0, 100, buf.data());
  ASSERT_TRUE(ok.ok());
  auto bad = (*r)->ReadAt(victim_off + 10, 100, buf.data());
  EXPECT_TRUE(bad.status().Is(core::Code::kCorruption)) << bad.status().ToString();

  std::string out;
  Status s = (*r)->ReadAll([&](std::string_view d) {
    out.append(d);
    return Status::Ok();
  });
  EXPECT_TRUE(s.Is(core::Code::kCorruption)) << s.ToString();
  EXPECT_EQ(out, data.substr(0, victim_off));  // everything before, nothing after
}

TEST(FileReaderTest, ChunkOfTheWrongSizeIsCorruption) {
  MemObjectStore objects;
  std::string data = RandomBytes(10'000, 4);
  Hash h = Hash::Of(data);
  ASSERT_TRUE(objects.Put(h, ObjectKind::kChunk, data).ok());
  objects::Content c;
  auto* ref = c.add_chunks();
  ref->set_hash(std::string(h.Bytes()));
  ref->set_size(12'000);
  auto r = FileReader::Open(&objects, c, 12'000);
  ASSERT_TRUE(r.ok());
  char buf[10];
  EXPECT_TRUE((*r)->ReadAt(0, 10, buf).status().Is(core::Code::kCorruption));
}

TEST(FileReaderTest, MissingChunkAndSinkErrorsStopReadAll) {
  MemObjectStore objects;
  Sample s = MakeSample(objects);
  auto r = FileReader::Open(&objects, s.content, s.bytes.size());
  ASSERT_TRUE(r.ok());
  int calls = 0;
  Status stop = (*r)->ReadAll(
      [&](std::string_view) { return ++calls == 3 ? Status::Aborted("enough") : Status::Ok(); });
  EXPECT_TRUE(stop.Is(core::Code::kAborted));
  EXPECT_EQ(calls, 3);

  objects::Content c;
  auto* ref = c.add_chunks();
  ref->set_hash(std::string(Hash::Of("absent").Bytes()));
  ref->set_size(6);
  auto m = FileReader::Open(&objects, c, 6);
  ASSERT_TRUE(m.ok());
  // A chunk the file references but the store lacks is damage (EIO in a
  // mount), never "not found".
  EXPECT_TRUE(
      (*m)->ReadAll([](std::string_view) { return Status::Ok(); }).Is(core::Code::kCorruption));
}

// The local backend reads chunks straight into the reader's ring of
// buffers (ObjectStore::GetInto): many more chunks than buffers, holes in
// between, and every byte still equal to the source.
TEST(FileReaderTest, LocalStoreReadAllAndReadAtEqualSource) {
  auto t = testing::OpenTestStore(testing::Backend::kLocal);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  store::ObjectStore& objects = *t->store->objects;
  Sample s = MakeSample(objects);
  auto r = FileReader::Open(&objects, s.content, s.bytes.size());
  ASSERT_TRUE(r.ok());
  for (int round = 0; round < 2; ++round) {
    std::string out;
    ASSERT_TRUE((*r)->ReadAll([&](std::string_view d) {
                      out.append(d);
                      return Status::Ok();
                    })
                    .ok());
    ASSERT_EQ(out.size(), s.bytes.size());
    EXPECT_TRUE(out == s.bytes);
  }
  std::mt19937 rng(7);
  std::string buf;
  for (int i = 0; i < 300; ++i) {
    uint64_t off = rng() % s.bytes.size();
    size_t n = rng() % 40'000;
    buf.assign(n, '?');
    auto got = (*r)->ReadAt(off, n, buf.data());
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(buf.substr(0, *got), s.bytes.substr(off, *got));
  }
}

// S10 on disk: a flipped byte in one chunk file stops the stream at that
// chunk with Corruption; the sink never sees a byte of it or after it,
// however far the fetches ran ahead.
TEST(FileReaderTest, LocalStoreCorruptChunkFileStopsReadAllBeforeIt) {
  auto t = testing::OpenTestStore(testing::Backend::kLocal);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto* local = dynamic_cast<store::LocalObjectStore*>(t->store->objects.get());
  ASSERT_NE(local, nullptr);
  std::string data = RandomBytes(400'000, 5);
  FileWriter w(local, kSmall);
  ASSERT_TRUE(w.Write(data).ok());
  auto c = w.Finish();
  ASSERT_TRUE(c.ok());
  ASSERT_GE(c->chunks_size(), 12);
  uint64_t victim_off = 0;
  for (int i = 0; i < 7; ++i) victim_off += c->chunks(i).size();
  auto victim = store::HashField(c->chunks(7).hash(), "chunk");
  ASSERT_TRUE(victim.ok());
  std::string path = local->layout().ObjectFile(*victim);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put(static_cast<char>(data[victim_off + 100] ^ 0x10));
  }

  auto r = FileReader::Open(local, *c, data.size());
  ASSERT_TRUE(r.ok());
  std::string out;
  Status st = (*r)->ReadAll([&](std::string_view d) {
    out.append(d);
    return Status::Ok();
  });
  EXPECT_TRUE(st.Is(core::Code::kCorruption)) << st.ToString();
  EXPECT_NE(st.message().find(victim->Hex()), std::string::npos) << st.ToString();
  EXPECT_TRUE(out == data.substr(0, victim_off));

  // A sink that fails while fetches are still in flight into the buffers.
  int calls = 0;
  Status stop = (*r)->ReadAll(
      [&](std::string_view) { return ++calls == 1 ? Status::Aborted("stop") : Status::Ok(); });
  EXPECT_TRUE(stop.Is(core::Code::kAborted)) << stop.ToString();
}

// ReadAllUnordered: every data byte exactly once at its offset, holes never
// passed, pieces delivered from more than one thread.
TEST(FileReaderTest, ReadAllUnorderedCoversEveryDataByteOnceAndSkipsHoles) {
  for (auto backend : {testing::Backend::kMemory, testing::Backend::kLocal}) {
    auto t = testing::OpenTestStore(backend);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    store::ObjectStore& objects = *t->store->objects;
    Sample s = MakeSample(objects);
    auto r = FileReader::Open(&objects, s.content, s.bytes.size());
    ASSERT_TRUE(r.ok());
    std::mutex mu;
    std::string out(s.bytes.size(), '\0');
    std::vector<bool> seen(s.bytes.size(), false);
    std::set<std::thread::id> threads;
    bool overlap = false;
    Status st = (*r)->ReadAllUnordered([&](uint64_t off, std::string_view d) {
      std::lock_guard<std::mutex> l(mu);
      threads.insert(std::this_thread::get_id());
      for (size_t i = 0; i < d.size(); ++i) {
        overlap |= seen[off + i];
        seen[off + i] = true;
      }
      out.replace(off, d.size(), d);
      return Status::Ok();
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_FALSE(overlap);
    EXPECT_TRUE(out == s.bytes) << testing::BackendName(backend);
    // MakeSample's hole (700,000 .. 823,457) is never handed to the sink.
    for (size_t i = 700'000; i < 823'457; i += 997) EXPECT_FALSE(seen[i]) << i;
    EXPECT_TRUE(seen[0] && seen[s.bytes.size() - 1]);
    // How many threads took part is the scheduler's choice: on a loaded
    // 2-core machine one worker sometimes takes every chunk (it failed
    // CI-like runs 2 times in 10), so it is not asserted.
    EXPECT_GE(threads.size(), 1u);
  }
}

TEST(FileReaderTest, ReadAllUnorderedInlineTailHoleAndErrors) {
  MemObjectStore objects;
  objects::Content c;
  c.set_inline_data("abc");
  auto r = FileReader::Open(&objects, c, 10);  // inline bytes, then zeros
  ASSERT_TRUE(r.ok());
  std::string got;
  ASSERT_TRUE((*r)->ReadAllUnordered([&](uint64_t off, std::string_view d) {
                    EXPECT_EQ(off, 0u);
                    got.append(d);
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(got, "abc");

  // A corrupt chunk: Corruption, and the sink never sees its bytes.
  std::string data = RandomBytes(300'000, 6);
  FileWriter w(&objects, kSmall);
  ASSERT_TRUE(w.Write(data).ok());
  auto content = w.Finish();
  ASSERT_TRUE(content.ok());
  ASSERT_GE(content->chunks_size(), 10);
  auto victim = store::HashField(content->chunks(5).hash(), "chunk");
  ASSERT_TRUE(victim.ok());
  uint64_t victim_off = 0;
  for (int i = 0; i < 5; ++i) victim_off += content->chunks(i).size();
  objects.Corrupt(*victim);
  auto cr = FileReader::Open(&objects, *content, data.size());
  ASSERT_TRUE(cr.ok());
  std::mutex mu;
  std::set<uint64_t> offsets;
  Status st = (*cr)->ReadAllUnordered([&](uint64_t off, std::string_view d) {
    std::lock_guard<std::mutex> l(mu);
    offsets.insert(off);
    EXPECT_TRUE(d == std::string_view(data).substr(off, d.size())) << off;
    return Status::Ok();
  });
  EXPECT_TRUE(st.Is(core::Code::kCorruption)) << st.ToString();
  EXPECT_EQ(offsets.count(victim_off), 0u);

  // A failing sink stops the read with its error.
  MemObjectStore clean;
  Sample s = MakeSample(clean);
  auto sr = FileReader::Open(&clean, s.content, s.bytes.size());
  ASSERT_TRUE(sr.ok());
  std::atomic<int> calls{0};
  Status stop = (*sr)->ReadAllUnordered([&](uint64_t, std::string_view) {
    return ++calls == 2 ? Status::Aborted("full") : Status::Ok();
  });
  EXPECT_TRUE(stop.Is(core::Code::kAborted)) << stop.ToString();
}

}  // namespace
}  // namespace snapvol::volume
