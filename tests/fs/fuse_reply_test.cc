// The kernel-free parts of fuse_reply.h: struct stat of an entry, type
// bits, and the caller's capabilities read from /proc. The replies
// themselves are exercised against a kernel in e2e/.
#include "driver/fs/fuse_reply.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace snapvol::fs {
namespace {

TEST(FuseReplyTest, TypeBitsOfEveryNodeType) {
  EXPECT_EQ(TypeBits(NodeType::kFile), static_cast<mode_t>(S_IFREG));
  EXPECT_EQ(TypeBits(NodeType::kDir), static_cast<mode_t>(S_IFDIR));
  EXPECT_EQ(TypeBits(NodeType::kSymlink), static_cast<mode_t>(S_IFLNK));
  EXPECT_EQ(TypeBits(NodeType::kFifo), static_cast<mode_t>(S_IFIFO));
  EXPECT_EQ(TypeBits(NodeType::kSocket), static_cast<mode_t>(S_IFSOCK));
  EXPECT_EQ(TypeBits(NodeType::kCharDevice), static_cast<mode_t>(S_IFCHR));
  EXPECT_EQ(TypeBits(NodeType::kBlockDevice), static_cast<mode_t>(S_IFBLK));
}

TEST(FuseReplyTest, FillStatSetsEveryField) {
  EntryOut o;
  o.ino = 42;
  o.type = NodeType::kFile;
  o.attr.mode = 04755;
  o.attr.uid = 1000;
  o.attr.gid = 100;
  o.attr.size = 1025;
  o.attr.rdev = 0;
  o.attr.mtime_ns = 1'500'000'000'123LL;
  o.attr.atime_ns = -1;  // before 1970: the nanoseconds stay positive
  o.attr.ctime_ns = 7;
  o.nlink = 3;
  struct stat st;
  std::memset(&st, 0xff, sizeof(st));
  FillStat(o, &st);
  EXPECT_EQ(st.st_ino, 42u);
  EXPECT_EQ(st.st_mode, static_cast<mode_t>(S_IFREG | 04755));
  EXPECT_EQ(st.st_nlink, 3u);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 100u);
  EXPECT_EQ(st.st_size, 1025);
  EXPECT_EQ(st.st_blocks, 3);
  EXPECT_EQ(st.st_blksize, 1 << 20);
  EXPECT_EQ(st.st_rdev, 0u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1500);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123);
  EXPECT_EQ(st.st_atim.tv_sec, -1);
  EXPECT_EQ(st.st_atim.tv_nsec, 999'999'999);
  EXPECT_EQ(st.st_ctim.tv_sec, 0);
  EXPECT_EQ(st.st_ctim.tv_nsec, 7);
}

TEST(FuseReplyTest, EffectiveCapsAreThoseOfTheCallingThread) {
  std::ifstream status("/proc/self/status");
  std::string line;
  unsigned long long want = 0;
  while (std::getline(status, line)) {
    if (std::sscanf(line.c_str(), "CapEff: %llx", &want) == 1) break;
  }
  EXPECT_EQ(EffectiveCaps(static_cast<pid_t>(::syscall(SYS_gettid))), want);
  EXPECT_EQ(EffectiveCaps(0), 0u);  // not visible in this PID namespace
  EXPECT_EQ(EffectiveCaps(-1), 0u);
}

}  // namespace
}  // namespace snapvol::fs
