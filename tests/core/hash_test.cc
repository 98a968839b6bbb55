#include "driver/core/hash.h"

#include <gtest/gtest.h>

namespace snapvol::core {
namespace {

TEST(HashTest, KnownVectors) {
  EXPECT_EQ(Hash::Of("").Hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hash::Of("abc").Hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HashTest, StreamingEqualsOneShot) {
  Sha256 s;
  s.Update("a");
  s.Update("bc");
  EXPECT_EQ(s.Finish(), Hash::Of("abc"));
}

TEST(HashTest, HexRoundTripAndRejectsBadInput) {
  Hash h = Hash::Of("x");
  auto back = Hash::FromHex(h.Hex());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, h);
  EXPECT_FALSE(Hash::FromHex("abc").ok());
  EXPECT_FALSE(Hash::FromHex(std::string(64, 'g')).ok());
  EXPECT_FALSE(Hash::FromBytes("short").ok());
  EXPECT_TRUE(Hash().IsZero());
  EXPECT_FALSE(h.IsZero());
}

}  // namespace
}  // namespace snapvol::core
