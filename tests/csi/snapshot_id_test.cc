#include "driver/csi/snapshot_id.h"

#include <gtest/gtest.h>

namespace snapvol::csi {
namespace {

TEST(SnapshotIdTest, RoundTripsWithAndWithoutTag) {
  SnapshotId pinned{{"main", "weights"}, 3, SnapshotId::TagFor("snapshot-1")};
  EXPECT_EQ(SnapshotId::Parse(pinned.ToString()), pinned);
  EXPECT_EQ(pinned.tag.size(), 16u);
  SnapshotId plain{{"dev", "data"}, 12, ""};
  EXPECT_EQ(plain.ToString(), "dev/data@12");
  EXPECT_EQ(SnapshotId::Parse("dev/data@12"), plain);
  EXPECT_EQ(SnapshotId::Parse("dev/data@0"), (SnapshotId{{"dev", "data"}, 0, ""}));
}

TEST(SnapshotIdTest, TagsDifferByName) {
  EXPECT_NE(SnapshotId::TagFor("a"), SnapshotId::TagFor("b"));
  EXPECT_EQ(SnapshotId::TagFor("a"), SnapshotId::TagFor("a"));
}

TEST(SnapshotIdTest, RejectsMalformedIds) {
  for (const char* bad : {"", "non-existing-snapshot-id", "reallyfakesnapshotid", "main/x",
                          "main/x@", "main/x@01", "main/x@-1", "main/x@1#", "main/x@1#xyz",
                          "main/x@1#0123456789ABCDEF", "x@1", "main/x@1a"}) {
    EXPECT_FALSE(SnapshotId::Parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace snapvol::csi
