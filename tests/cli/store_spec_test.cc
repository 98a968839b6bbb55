#include "driver/cli/store_spec.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

namespace snapvol::cli {
namespace {

TEST(StoreSpecTest, DefaultDependsOnUserAndXdg) {
  if (::geteuid() == 0) {
    EXPECT_EQ(DefaultStoreSpec(), "/var/lib/snapvol");
    return;
  }
  ::setenv("XDG_DATA_HOME", "/data/xdg", 1);
  EXPECT_EQ(DefaultStoreSpec(), "/data/xdg/snapvol");
  ::setenv("XDG_DATA_HOME", "relative/ignored", 1);
  ::setenv("HOME", "/home/ana", 1);
  EXPECT_EQ(DefaultStoreSpec(), "/home/ana/.local/share/snapvol");
  ::unsetenv("XDG_DATA_HOME");
  EXPECT_EQ(DefaultStoreSpec(), "/home/ana/.local/share/snapvol");
}

}  // namespace
}  // namespace snapvol::cli
