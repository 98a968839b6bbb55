// CLI integration tests of hostile input (issue 12): get as root must not
// hand out set-uid files someone else stored, and put must not be raced
// into reading files outside LOCAL or storing a file that changed while it
// was read.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "cli_harness.h"

namespace snapvol::cli::testing {
namespace {

using ::testing::HasSubstr;

struct stat Lstat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

// Stores a set-uid file and a set-gid directory of uid/gid 1234, as another
// user on a shared machine could.
class GetOwnerTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to store files of another owner";
    Ok({"volume", "create", "v"});
    MakeDirs(Path("src/shared"));
    WriteFile(Path("src/tool"), "#!/bin/sh\nid\n", 0755);
    WriteFile(Path("src/shared/inner"), "x", 0644);
    // chown(2) clears set-uid/set-gid, so the mode goes on afterwards.
    for (const char* p : {"src/tool", "src/shared", "src/shared/inner"}) {
      ASSERT_EQ(::chown(Path(p).c_str(), 1234, 1234), 0) << p;
    }
    ASSERT_EQ(::chmod(Path("src/tool").c_str(), 04755), 0);
    ASSERT_EQ(::chmod(Path("src/shared").c_str(), 02775), 0);
    Ok({"volume", "put", "v", "src", "/src"});
  }
};

TEST_F(GetOwnerTest, GetAsRootOwnsEverythingAndDropsSetIdBits) {
  Ok({"volume", "get", "v", "/src", "out/"});
  struct stat tool = Lstat(Path("out/src/tool"));
  EXPECT_EQ(tool.st_uid, 0u);
  EXPECT_EQ(tool.st_gid, 0u);
  EXPECT_EQ(tool.st_mode & 07777, 0755u);
  struct stat shared = Lstat(Path("out/src/shared"));
  EXPECT_TRUE(S_ISDIR(shared.st_mode));
  EXPECT_EQ(shared.st_uid, 0u);
  EXPECT_EQ(shared.st_mode & 07777, 0775u);
  EXPECT_EQ(Lstat(Path("out/src/shared/inner")).st_uid, 0u);

  // A single file, too.
  Ok({"volume", "get", "v", "/src/tool", "one"});
  struct stat one = Lstat(Path("one"));
  EXPECT_EQ(one.st_uid, 0u);
  EXPECT_EQ(one.st_mode & 07777, 0755u);
}

TEST_F(GetOwnerTest, SameOwnerRestoresOwnersAndSetIdBits) {
  Ok({"volume", "get", "v", "/src", "out/", "--same-owner"});
  struct stat tool = Lstat(Path("out/src/tool"));
  EXPECT_EQ(tool.st_uid, 1234u);
  EXPECT_EQ(tool.st_gid, 1234u);
  EXPECT_EQ(tool.st_mode & 07777, 04755u);
  struct stat shared = Lstat(Path("out/src/shared"));
  EXPECT_EQ(shared.st_uid, 1234u);
  EXPECT_EQ(shared.st_gid, 1234u);
  EXPECT_EQ(shared.st_mode & 07777, 02775u);
  EXPECT_EQ(Lstat(Path("out/src/shared/inner")).st_uid, 1234u);
}

}  // namespace
}  // namespace snapvol::cli::testing
