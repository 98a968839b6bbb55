#include "driver/cli/open_beneath.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "driver/cli/unique_fd.h"

namespace snapvol::cli {
namespace {

// root/a/b/f, root/a/up -> .. (inside), root/a/out -> the outside
// directory, root/a/f-link -> outside/secret; outside/b/f and
// outside/secret are what must never be opened.
class OpenBeneathTest : public ::testing::TestWithParam<Resolver> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/snapvol-open-beneath-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* d : {"/root", "/root/a", "/root/a/b", "/outside", "/outside/b"}) {
      ASSERT_EQ(::mkdir((dir_ + d).c_str(), 0755), 0) << d;
    }
    for (const char* f : {"/root/a/b/f", "/outside/b/f", "/outside/secret"}) {
      UniqueFd fd(::open((dir_ + f).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
      ASSERT_TRUE(fd.valid()) << f;
    }
    ASSERT_EQ(::symlink("..", (dir_ + "/root/a/up").c_str()), 0);
    ASSERT_EQ(::symlink((dir_ + "/outside").c_str(), (dir_ + "/root/a/out").c_str()), 0);
    ASSERT_EQ(::symlink((dir_ + "/outside/secret").c_str(), (dir_ + "/root/a/f-link").c_str()), 0);
    root_ = UniqueFd(::open((dir_ + "/root").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_.valid());
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  }

  // errno of a failed open, 0 if it opened.
  int OpenError(const char* rel, int flags = O_RDONLY) {
    UniqueFd fd(OpenBeneath(root_.get(), rel, flags, GetParam()));
    return fd.valid() ? 0 : errno;
  }

  std::string dir_;
  UniqueFd root_;
};

TEST_P(OpenBeneathTest, OpensFilesAndDirectoriesBelowTheRoot) {
  UniqueFd fd(OpenBeneath(root_.get(), "a/b/f", O_RDONLY, GetParam()));
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  struct stat got {
  }, want{};
  ASSERT_EQ(::fstat(fd.get(), &got), 0);
  ASSERT_EQ(::stat((dir_ + "/root/a/b/f").c_str(), &want), 0);
  EXPECT_EQ(got.st_ino, want.st_ino);
  EXPECT_EQ(OpenError("a", O_RDONLY | O_DIRECTORY), 0);
  EXPECT_EQ(OpenError("a/b", O_RDONLY | O_DIRECTORY), 0);
  EXPECT_EQ(OpenError("a/missing"), ENOENT);
}

TEST_P(OpenBeneathTest, NeverFollowsASymlink) {
  // A symlink as the last component, or in the middle of the path, even
  // one that stays inside the root.
  EXPECT_EQ(OpenError("a/f-link"), ELOOP);
  for (int err : {OpenError("a/out/b/f"), OpenError("a/up/a/b/f"),
                  OpenError("a/out", O_RDONLY | O_DIRECTORY)}) {
    EXPECT_TRUE(err == ELOOP || err == ENOTDIR) << std::strerror(err);
  }
}

INSTANTIATE_TEST_SUITE_P(Resolvers, OpenBeneathTest,
                         ::testing::Values(Resolver::kAuto, Resolver::kOpenat));

}  // namespace
}  // namespace snapvol::cli
