#include "driver/fs/control_json.h"

#include <gtest/gtest.h>

namespace snapvol::fs {
namespace {

TEST(ControlJsonTest, RoundTripsBytesThatAreNotUtf8) {
  MountInfo info;
  info.id = "m1";
  info.store = "/st\xff";
  info.mountpoint = "/mnt/caf\xe9";
  info.pid = 42;
  info.base_version = 7;
  auto back = DecodeMountInfo(EncodeMountInfo(info));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->store, info.store);
  EXPECT_EQ(back->mountpoint, info.mountpoint);
  EXPECT_EQ(back->pid, 42);
  EXPECT_EQ(back->base_version, 7u);
}

// Found by fuzzing (tests/fuzz/corpus/control_json/crash-float-integer):
// a float too large for an integer field was cast (undefined behaviour).
TEST(ControlJsonTest, IntegerFieldsRefuseFloatsAndOutOfRangeValues) {
  for (const char* bad : {R"({"time_ns": 1.7e108})", R"({"version": -1})", R"({"attempts": 1.5})",
                          R"({"attempts": 4294967296})", R"({"version": "7"})"}) {
    auto c = DecodeCommitInfo(bad);
    EXPECT_EQ(c.status().code(), core::Code::kCorruption) << bad;
  }
  EXPECT_FALSE(DecodeMountInfo(R"({"pid": 1e300})").ok());
  EXPECT_FALSE(DecodeMountStatus(R"({"inodes": -3})").ok());
  EXPECT_FALSE(DecodeMountOptions(R"({"commit_interval_ms": 9.3e18})").ok());

  auto ok = DecodeCommitInfo(R"({"version": 18446744073709551615, "time_ns": -5, "attempts": 3})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->version, UINT64_MAX);
  EXPECT_EQ(ok->time_ns, -5);
  EXPECT_EQ(ok->attempts, 3);
}

}  // namespace
}  // namespace snapvol::fs
