#include "driver/csi/volume_id.h"

#include <gtest/gtest.h>

#include "driver/core/names.h"

namespace snapvol::csi {
namespace {

TEST(VolumeIdTest, RoundTrips) {
  VolumeId id{"main", "weights"};
  EXPECT_EQ(id.ToString(), "main/weights");
  EXPECT_EQ(VolumeId::Parse("main/weights"), id);
  EXPECT_EQ(VolumeId::Parse("team-a/pvc-0a1b.c_d"), (VolumeId{"team-a", "pvc-0a1b.c_d"}));
}

TEST(VolumeIdTest, RejectsWhatItNeverIssues) {
  for (const char* bad : {"", "main", "/x", "main/", "main/a/b", "fake-vol-id", "ma in/x",
                          "main/..", "-env/x", "main/-x"}) {
    EXPECT_FALSE(VolumeId::Parse(bad)) << bad;
  }
}

TEST(VolumeIdTest, ValidRequestNamesAreUsedAsTheyAre) {
  EXPECT_EQ(VolumeNameForRequest("pvc-7d1c3c6e-9c2a-4a5e-8c59-2a4c1bfc9d10"),
            "pvc-7d1c3c6e-9c2a-4a5e-8c59-2a4c1bfc9d10");
}

TEST(VolumeIdTest, OtherRequestNamesMapToStableValidNames) {
  std::string long_name(128, 'a');
  std::string a = VolumeNameForRequest(long_name);
  EXPECT_TRUE(core::ValidateName("volume", a).ok()) << a;
  EXPECT_EQ(a, VolumeNameForRequest(long_name));
  EXPECT_NE(a, VolumeNameForRequest(std::string(127, 'a')));
  for (const char* odd : {"with space", "ünïcode", "/slash/", "..", "-dash"}) {
    std::string n = VolumeNameForRequest(odd);
    EXPECT_TRUE(core::ValidateName("volume", n).ok()) << odd << " -> " << n;
  }
  EXPECT_NE(VolumeNameForRequest("a b"), VolumeNameForRequest("a:b"));
}

}  // namespace
}  // namespace snapvol::csi
