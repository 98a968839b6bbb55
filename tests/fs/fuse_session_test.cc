// The parts of the FUSE session that need no kernel; the loop itself runs
// in e2e/.
#include "driver/fs/fuse_session.h"

#include <gtest/gtest.h>

namespace snapvol::fs {
namespace {

TEST(FuseSessionTest, MountOptions) {
  MountOptions o;
  EXPECT_EQ(FuseMountOptions(o, "snapvol:main/v"),
            "allow_other,fsname=snapvol:main/v,subtype=snapvol,max_read=524288");
  o.read_only = true;
  EXPECT_EQ(FuseMountOptions(o, "f"), "allow_other,fsname=f,subtype=snapvol,max_read=524288,ro");
}

TEST(FuseSessionTest, ReadRepliesFitAnUnprivilegedPipe) {
  // libfuse splices a reply through a pipe a few pages larger than it;
  // unprivileged pipes stop at 1 MiB.
  EXPECT_LT(kFuseMaxRead + (64 << 10), size_t{1} << 20);
  EXPECT_GE(kFuseMaxWrite, kFuseMaxRead);
}

}  // namespace
}  // namespace snapvol::fs
