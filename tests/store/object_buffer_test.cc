#include "driver/store/object_buffer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>

namespace snapvol::store {
namespace {

bool Aligned(const char* p) {
  return reinterpret_cast<uintptr_t>(p) % ObjectBuffer::kAlignment == 0;
}

TEST(ObjectBufferTest, StartsEmpty) {
  ObjectBuffer b;
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.capacity(), 0u);
  EXPECT_TRUE(b.view().empty());
}

TEST(ObjectBufferTest, GrowsAlignedAndKeepsItsMemoryWhenShrinking) {
  ObjectBuffer b;
  b.Resize(10000);
  EXPECT_EQ(b.size(), 10000u);
  EXPECT_GE(b.capacity(), 10000u);
  EXPECT_EQ(b.capacity() % ObjectBuffer::kAlignment, 0u);
  EXPECT_TRUE(Aligned(b.data()));
  const char* mem = b.data();
  b.Resize(10);
  EXPECT_EQ(b.size(), 10u);
  EXPECT_EQ(b.data(), mem);  // no reallocation
  b.Resize(b.capacity());
  EXPECT_EQ(b.data(), mem);
  b.Resize(b.capacity() + 1);
  EXPECT_TRUE(Aligned(b.data()));
  EXPECT_GT(b.capacity(), 10000u);
}

TEST(ObjectBufferTest, AssignCopiesAndMoveTransfers) {
  ObjectBuffer b;
  b.Assign("hello world");
  EXPECT_EQ(b.view(), "hello world");
  b.Assign("");
  EXPECT_EQ(b.view(), "");
  b.Assign(std::string(70000, 'x'));
  ObjectBuffer c(std::move(b));
  EXPECT_EQ(c.view(), std::string(70000, 'x'));
  EXPECT_EQ(b.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(b.data(), nullptr);
  ObjectBuffer d;
  d.Assign("abc");
  d = std::move(c);
  EXPECT_EQ(d.size(), 70000u);
  d.Clear();
  EXPECT_EQ(d.capacity(), 0u);
  EXPECT_EQ(d.size(), 0u);
}

}  // namespace
}  // namespace snapvol::store
