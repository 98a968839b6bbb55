#include "tests/store/object_store_conformance.h"

#include <set>
#include <thread>
#include <vector>

namespace snapvol::store {
namespace {

using core::Code;

std::string Bytes(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

}  // namespace

void ObjectStoreConformanceTest::SetUp() {
  target_ = GetParam().new_target();
  ASSERT_NE(target_, nullptr);
  store_ = OpenAnother();
  ASSERT_NE(store_, nullptr);
}

std::unique_ptr<ObjectStore> ObjectStoreConformanceTest::OpenAnother() {
  auto s = target_->Open();
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

TEST_P(ObjectStoreConformanceTest, PutThenGetReturnsTheBytesForEveryKind) {
  for (auto kind :
       {ObjectKind::kChunk, ObjectKind::kIndex, ObjectKind::kTree, ObjectKind::kCommit}) {
    std::string data = Bytes(1000 + static_cast<size_t>(kind), static_cast<uint32_t>(kind));
    Hash id = Hash::Of(data);
    ASSERT_TRUE(store().Put(id, kind, data).ok());
    auto got = store().Get(id, kind);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, data);
    EXPECT_TRUE(*store().Contains(id, kind));
  }
  EXPECT_TRUE(store().Flush().ok());
}

TEST_P(ObjectStoreConformanceTest, MissingObjectIsNotFoundAndNamed) {
  Hash id = Hash::Of("never stored");
  auto got = store().Get(id, ObjectKind::kTree);
  EXPECT_EQ(got.status().code(), Code::kNotFound);
  EXPECT_NE(got.status().message().find(id.Hex()), std::string::npos) << got.status().ToString();
  auto has = store().Contains(id, ObjectKind::kTree);
  ASSERT_TRUE(has.ok());
  EXPECT_FALSE(*has);
  EXPECT_EQ(store().Delete(id, ObjectKind::kTree).code(), Code::kNotFound);
}

TEST_P(ObjectStoreConformanceTest, PutWithWrongHashIsRejected) {
  std::string data = "some bytes";
  Hash wrong = Hash::Of("other bytes");
  Status s = store().Put(wrong, ObjectKind::kChunk, data);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find(wrong.Hex()), std::string::npos) << s.ToString();
  EXPECT_FALSE(*store().Contains(wrong, ObjectKind::kChunk));
  EXPECT_EQ(store().Get(wrong, ObjectKind::kChunk).status().code(), Code::kNotFound);
  EXPECT_FALSE(*store().Contains(Hash::Of(data), ObjectKind::kChunk));
}

TEST_P(ObjectStoreConformanceTest, PutIsIdempotent) {
  std::string data = Bytes(5000, 7);
  Hash id = Hash::Of(data);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store().Put(id, ObjectKind::kChunk, data).ok());
  ASSERT_TRUE(store().Flush().ok());
  ASSERT_TRUE(store().Put(id, ObjectKind::kChunk, data).ok());
  EXPECT_EQ(*store().Get(id, ObjectKind::kChunk), data);
  int seen = 0;
  ASSERT_TRUE(store()
                  .ForEach(ObjectKind::kChunk,
                           [&](const Hash& h) {
                             if (h == id) ++seen;
                             return Status::Ok();
                           })
                  .ok());
  EXPECT_EQ(seen, 1);
}

TEST_P(ObjectStoreConformanceTest, PutContentNamesTheObjectByItsHash) {
  for (auto kind :
       {ObjectKind::kChunk, ObjectKind::kIndex, ObjectKind::kTree, ObjectKind::kCommit}) {
    std::string data = Bytes(3000 + static_cast<size_t>(kind), 40 + static_cast<uint32_t>(kind));
    auto id = store().PutContent(kind, data);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    EXPECT_EQ(*id, Hash::Of(data));
    auto again = store().PutContent(kind, data);  // idempotent
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(*again, *id);
    EXPECT_EQ(*store().Get(*id, kind), data);
  }
  ASSERT_TRUE(store().Flush().ok());
  auto other = OpenAnother();
  std::string data = Bytes(3000, 40);
  EXPECT_EQ(*other->Get(Hash::Of(data), ObjectKind::kChunk), data);
}

TEST_P(ObjectStoreConformanceTest, GetIntoReusesOneBufferAcrossObjectsOfAnySize) {
  std::vector<std::string> objects = {Bytes(5 << 20, 50), Bytes(100, 51), "",
                                      Bytes((1 << 20) + 17, 52), Bytes(4096, 53)};
  for (const auto& o : objects) ASSERT_TRUE(store().Put(Hash::Of(o), ObjectKind::kChunk, o).ok());
  ASSERT_TRUE(store().Flush().ok());
  ObjectBuffer buf;
  for (int round = 0; round < 2; ++round) {
    for (const auto& o : objects) {
      Status s = store().GetInto(Hash::Of(o), ObjectKind::kChunk, &buf);
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_EQ(buf.size(), o.size());
      EXPECT_TRUE(buf.view() == o);
    }
  }
  EXPECT_GE(buf.capacity(), size_t{5} << 20);

  Hash missing = Hash::Of("never stored");
  Status s = store().GetInto(missing, ObjectKind::kChunk, &buf);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_NE(s.message().find(missing.Hex()), std::string::npos) << s.ToString();
}

TEST_P(ObjectStoreConformanceTest, EmptyAndLargeObjects) {
  std::string empty;
  std::string large = Bytes(5 << 20, 3);
  ASSERT_TRUE(store().Put(Hash::Of(empty), ObjectKind::kChunk, empty).ok());
  ASSERT_TRUE(store().Put(Hash::Of(large), ObjectKind::kChunk, large).ok());
  ASSERT_TRUE(store().Flush().ok());
  EXPECT_EQ(*store().Get(Hash::Of(empty), ObjectKind::kChunk), empty);
  EXPECT_TRUE(*store().Contains(Hash::Of(empty), ObjectKind::kChunk));
  EXPECT_EQ(*store().Get(Hash::Of(large), ObjectKind::kChunk), large);
}

TEST_P(ObjectStoreConformanceTest, SameBytesAsTwoKinds) {
  std::string data = "shared bytes";
  Hash id = Hash::Of(data);
  ASSERT_TRUE(store().Put(id, ObjectKind::kChunk, data).ok());
  ASSERT_TRUE(store().Put(id, ObjectKind::kTree, data).ok());
  EXPECT_EQ(*store().Get(id, ObjectKind::kChunk), data);
  EXPECT_EQ(*store().Get(id, ObjectKind::kTree), data);
}

TEST_P(ObjectStoreConformanceTest, DeleteRemovesTheObject) {
  std::string data = Bytes(300, 11);
  Hash id = Hash::Of(data);
  ASSERT_TRUE(store().Put(id, ObjectKind::kChunk, data).ok());
  ASSERT_TRUE(store().Flush().ok());
  ASSERT_TRUE(store().Delete(id, ObjectKind::kChunk).ok());
  EXPECT_FALSE(*store().Contains(id, ObjectKind::kChunk));
  EXPECT_EQ(store().Get(id, ObjectKind::kChunk).status().code(), Code::kNotFound);
  EXPECT_EQ(store().Delete(id, ObjectKind::kChunk).code(), Code::kNotFound);
  // Putting it again brings it back.
  ASSERT_TRUE(store().Put(id, ObjectKind::kChunk, data).ok());
  EXPECT_EQ(*store().Get(id, ObjectKind::kChunk), data);
}

TEST_P(ObjectStoreConformanceTest, ForEachVisitsEveryObjectOfTheKind) {
  std::set<Hash> chunks, trees;
  for (uint32_t i = 0; i < 40; ++i) {
    std::string d = Bytes(100 + i, 100 + i);
    chunks.insert(Hash::Of(d));
    ASSERT_TRUE(store().Put(Hash::Of(d), ObjectKind::kChunk, d).ok());
  }
  for (uint32_t i = 0; i < 5; ++i) {
    std::string d = Bytes(50 + i, 900 + i);
    trees.insert(Hash::Of(d));
    ASSERT_TRUE(store().Put(Hash::Of(d), ObjectKind::kTree, d).ok());
  }
  ASSERT_TRUE(store().Flush().ok());
  auto visit = [&](ObjectKind kind) {
    std::multiset<Hash> seen;
    Status s = store().ForEach(kind, [&](const Hash& h) {
      seen.insert(h);
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return seen;
  };
  // A backend may visit other kinds too (kind is a filter hint), but never
  // misses one of the asked kind, never repeats one and never invents one.
  for (auto [kind, want] : {std::pair{ObjectKind::kChunk, chunks}, {ObjectKind::kTree, trees}}) {
    auto seen = visit(kind);
    for (const Hash& h : want) EXPECT_EQ(seen.count(h), 1u) << h.Hex();
    for (const Hash& h : seen) EXPECT_TRUE(chunks.count(h) || trees.count(h)) << h.Hex();
  }
  // Stops at the first error and returns it.
  int calls = 0;
  Status s = store().ForEach(ObjectKind::kChunk, [&](const Hash&) {
    ++calls;
    return Status::Aborted("stop");
  });
  EXPECT_EQ(s.code(), Code::kAborted);
  EXPECT_EQ(calls, 1);
}

TEST_P(ObjectStoreConformanceTest, FlushWithNothingPendingIsOk) {
  EXPECT_TRUE(store().Flush().ok());
  EXPECT_TRUE(store().Flush().ok());
}

TEST_P(ObjectStoreConformanceTest, FlushedObjectsAreVisibleToAnotherHandle) {
  std::string data = Bytes(4096, 5);
  Hash id = Hash::Of(data);
  ASSERT_TRUE(store().Put(id, ObjectKind::kCommit, data).ok());
  ASSERT_TRUE(store().Flush().ok());
  auto other = OpenAnother();
  ASSERT_NE(other, nullptr);
  EXPECT_TRUE(*other->Contains(id, ObjectKind::kCommit));
  EXPECT_EQ(*other->Get(id, ObjectKind::kCommit), data);
  // And the other way round.
  std::string more = Bytes(10, 6);
  ASSERT_TRUE(other->Put(Hash::Of(more), ObjectKind::kChunk, more).ok());
  ASSERT_TRUE(other->Flush().ok());
  EXPECT_EQ(*store().Get(Hash::Of(more), ObjectKind::kChunk), more);
}

TEST_P(ObjectStoreConformanceTest, ConcurrentPutsFromThreads) {
  // 8 threads put 64 objects each; half the objects are shared by all threads.
  constexpr int kThreads = 8, kPerThread = 64;
  std::vector<std::thread> threads;
  std::vector<Status> results(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        uint32_t seed = i % 2 ? static_cast<uint32_t>(i) : static_cast<uint32_t>(1000 * t + i);
        std::string d = Bytes(200 + (seed % 3000), seed);
        Status s = store().Put(Hash::Of(d), ObjectKind::kChunk, d);
        if (!s.ok()) {
          results[t] = s;
          return;
        }
        if (i % 16 == 15) {
          s = store().Flush();
          if (!s.ok()) {
            results[t] = s;
            return;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(store().Flush().ok());
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      uint32_t seed = i % 2 ? static_cast<uint32_t>(i) : static_cast<uint32_t>(1000 * t + i);
      std::string d = Bytes(200 + (seed % 3000), seed);
      auto got = store().Get(Hash::Of(d), ObjectKind::kChunk);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ASSERT_EQ(*got, d);
    }
  }
}

TEST_P(ObjectStoreConformanceTest, ConcurrentPutsOfTheSameObjectsFromHandles) {
  constexpr int kHandles = 4;
  std::vector<std::unique_ptr<ObjectStore>> handles;
  for (int i = 0; i < kHandles; ++i) handles.push_back(OpenAnother());
  std::vector<std::thread> threads;
  std::vector<Status> results(kHandles);
  for (int h = 0; h < kHandles; ++h) {
    threads.emplace_back([&, h] {
      for (uint32_t i = 0; i < 32; ++i) {
        std::string d = Bytes(1 << 14, i);
        Status s = handles[h]->Put(Hash::Of(d), ObjectKind::kChunk, d);
        if (!s.ok()) {
          results[h] = s;
          return;
        }
      }
      results[h] = handles[h]->Flush();
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  for (uint32_t i = 0; i < 32; ++i) {
    std::string d = Bytes(1 << 14, i);
    EXPECT_EQ(*store().Get(Hash::Of(d), ObjectKind::kChunk), d);
  }
}

}  // namespace snapvol::store
