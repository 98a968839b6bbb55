// POSIX behaviour of a read-write mount that users rely on (issue 3), on a
// real FUSE mount. Needs root.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include "e2e/mount_fixture.h"

namespace snapvol::e2e {
namespace {

class PosixTest : public MountFixture {};

TEST_F(PosixTest, CreateReadWriteDirectories) {
  const std::string m = MountAt("m");
  ASSERT_EQ(::mkdir((m + "/d").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((m + "/d/e").c_str(), 0700), 0);
  ASSERT_TRUE(WriteFile(m + "/d/e/f", "content"));
  EXPECT_EQ(ReadFile(m + "/d/e/f"), "content");
  struct stat st;
  ASSERT_EQ(::stat((m + "/d/e").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(::rmdir((m + "/d").c_str()), -1);
  EXPECT_EQ(errno, ENOTEMPTY);
  ASSERT_EQ(::unlink((m + "/d/e/f").c_str()), 0);
  ASSERT_EQ(::rmdir((m + "/d/e").c_str()), 0);
  EXPECT_FALSE(Exists(m + "/d/e"));
}

// Write-only handles bypass the kernel's page cache (FOPEN_DIRECT_IO); a
// reader holding the file open, with pages cached, still sees every write
// at once: overwrites, appends past its cached last page, O_APPEND. (The
// 6.18 kernel here drops the cached range itself on a direct write; the
// server's invalidation in OpWriteBuf is for kernels that do not.)
TEST_F(PosixTest, ReaderSeesWritesOfAWriteOnlyHandle) {
  const std::string m = MountAt("m");
  const std::string f = m + "/tail.log";
  int w = ::open(f.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(w, 0);
  ASSERT_EQ(::write(w, "aaaa", 4), 4);
  int r = ::open(f.c_str(), O_RDONLY);
  ASSERT_GE(r, 0);
  char buf[64] = {};
  ASSERT_EQ(::pread(r, buf, sizeof(buf), 0), 4);
  EXPECT_EQ(std::string(buf, 4), "aaaa");
  ASSERT_EQ(::pwrite(w, "bbbb", 4, 4), 4);
  ASSERT_EQ(::pwrite(w, "cc", 2, 0), 2);
  ASSERT_EQ(::pread(r, buf, sizeof(buf), 0), 8);
  EXPECT_EQ(std::string(buf, 8), "ccaabbbb");
  // A big write over what the reader has cached.
  std::string big(3 << 20, 'x');
  ASSERT_EQ(::pread(r, buf, 8, 0), 8);
  ASSERT_EQ(::pwrite(w, big.data(), big.size(), 0), static_cast<ssize_t>(big.size()));
  ASSERT_EQ(::pread(r, buf, 8, 0), 8);
  EXPECT_EQ(std::string(buf, 8), "xxxxxxxx");
  ::close(w);
  int a = ::open(f.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(a, 0);
  ASSERT_EQ(::write(a, "END", 3), 3);
  ::close(a);
  struct stat st;
  ASSERT_EQ(::fstat(r, &st), 0);
  EXPECT_EQ(st.st_size, static_cast<off_t>(big.size() + 3));
  ASSERT_EQ(::pread(r, buf, 3, static_cast<off_t>(big.size())), 3);
  EXPECT_EQ(std::string(buf, 3), "END");
  ::close(r);
  EXPECT_EQ(ReadFile(f), big + "END");
}

TEST_F(PosixTest, AppendTruncateAndRandomWrites) {
  const std::string m = MountAt("m");
  const std::string f = m + "/f";
  ASSERT_TRUE(WriteFile(f, "hello"));
  int fd = ::open(f.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, " world", 6), 6);
  ::close(fd);
  EXPECT_EQ(ReadFile(f), "hello world");
  ASSERT_EQ(::truncate(f.c_str(), 5), 0);
  EXPECT_EQ(ReadFile(f), "hello");
  ASSERT_EQ(::truncate(f.c_str(), 8), 0);
  EXPECT_EQ(ReadFile(f), std::string("hello\0\0\0", 8));
  fd = ::open(f.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "XY", 2, 1), 2);
  ASSERT_EQ(::ftruncate(fd, 4), 0);
  char buf[16];
  ASSERT_EQ(::pread(fd, buf, sizeof(buf), 0), 4);
  EXPECT_EQ(std::string(buf, 4), "hXYl");
  ::close(fd);
  fd = ::open(f.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_EQ(ReadFile(f), "");
  // The same on committed content (copy-up on first write-open).
  ASSERT_TRUE(WriteFile(f, "committed content"));
  ASSERT_TRUE(fs::CommitMount(m).ok());
  ASSERT_TRUE(fs::ReloadMount(m).ok());
  fd = ::open(f.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "!", 1), 1);
  ::close(fd);
  EXPECT_EQ(ReadFile(f), "committed content!");
  ASSERT_EQ(::truncate(f.c_str(), 9), 0);
  EXPECT_EQ(ReadFile(f), "committed");
}

TEST_F(PosixTest, SparseAndLargeFiles) {
  const std::string m = MountAt("m");
  const std::string f = m + "/sparse";
  int fd = ::open(f.c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0);
  const off_t far = (5LL << 30) + 12345;  // past 4 GiB
  ASSERT_EQ(::pwrite(fd, "end", 3, far), 3);
  ASSERT_EQ(::pwrite(fd, "start", 5, 0), 5);
  ::close(fd);
  struct stat st;
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, far + 3);
  ASSERT_TRUE(fs::CommitMount(m).ok());
  const std::string other = MountAt("other");
  fd = ::open((other + "/sparse").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[8] = {};
  ASSERT_EQ(::pread(fd, buf, 5, 0), 5);
  EXPECT_EQ(std::string(buf, 5), "start");
  ASSERT_EQ(::pread(fd, buf, 4, far - 1), 4);
  EXPECT_EQ(std::string(buf, 4), std::string("\0end", 4));
  std::string hole(4096, 'x');
  ASSERT_EQ(::pread(fd, hole.data(), hole.size(), 3LL << 30), 4096);
  EXPECT_EQ(hole, std::string(4096, '\0'));
  ::close(fd);
  ASSERT_EQ(::stat((other + "/sparse").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, far + 3);
}

TEST_F(PosixTest, SharedWritableMmap) {
  const std::string m = MountAt("m");
  const std::string f = m + "/mapped";
  ASSERT_TRUE(WriteFile(f, std::string(8192, 'a')));
  int fd = ::open(f.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  void* p = ::mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED);
  std::memcpy(static_cast<char*>(p) + 4096, "mmap!", 5);
  ASSERT_EQ(::msync(p, 8192, MS_SYNC), 0);
  ::munmap(p, 8192);
  ::close(fd);
  auto content = ReadFile(f);
  ASSERT_TRUE(content.has_value());
  EXPECT_EQ(content->substr(4096, 5), "mmap!");
  ASSERT_TRUE(fs::CommitMount(m).ok());
  EXPECT_EQ(HeadFile("/mapped")->substr(4096, 5), "mmap!");
  // Read-only mapping of committed content.
  const std::string other = MountAt("other");
  fd = ::open((other + "/mapped").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  p = ::mmap(nullptr, 8192, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_EQ(std::string(static_cast<char*>(p) + 4096, 5), "mmap!");
  ::munmap(p, 8192);
  ::close(fd);
}

TEST_F(PosixTest, Renames) {
  const std::string m = MountAt("m");
  ASSERT_TRUE(WriteFile(m + "/a", "A"));
  ASSERT_TRUE(WriteFile(m + "/b", "B"));
  ASSERT_EQ(::mkdir((m + "/d").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(m + "/d/inner", "I"));
  ASSERT_TRUE(fs::CommitMount(m).ok());
  ASSERT_TRUE(fs::ReloadMount(m).ok());
  // Over an existing target.
  ASSERT_EQ(::rename((m + "/a").c_str(), (m + "/b").c_str()), 0);
  EXPECT_FALSE(Exists(m + "/a"));
  EXPECT_EQ(ReadFile(m + "/b"), "A");
  // RENAME_NOREPLACE refuses an existing target; RENAME_EXCHANGE is not supported.
  ASSERT_TRUE(WriteFile(m + "/c", "C"));
  EXPECT_EQ(
      ::renameat2(AT_FDCWD, (m + "/c").c_str(), AT_FDCWD, (m + "/b").c_str(), RENAME_NOREPLACE),
      -1);
  EXPECT_EQ(errno, EEXIST);
  EXPECT_EQ(
      ::renameat2(AT_FDCWD, (m + "/c").c_str(), AT_FDCWD, (m + "/b").c_str(), RENAME_EXCHANGE), -1);
  EXPECT_EQ(errno, EINVAL);
  ASSERT_EQ(
      ::renameat2(AT_FDCWD, (m + "/c").c_str(), AT_FDCWD, (m + "/c2").c_str(), RENAME_NOREPLACE),
      0);
  // Directories, with content, to a new parent.
  ASSERT_EQ(::mkdir((m + "/e").c_str(), 0755), 0);
  ASSERT_EQ(::rename((m + "/d").c_str(), (m + "/e/d2").c_str()), 0);
  EXPECT_EQ(ReadFile(m + "/e/d2/inner"), "I");
  EXPECT_FALSE(Exists(m + "/d"));
  // Into itself: EINVAL. Over a non-empty directory: ENOTEMPTY.
  EXPECT_EQ(::rename((m + "/e").c_str(), (m + "/e/d2/x").c_str()), -1);
  EXPECT_EQ(errno, EINVAL);
  ASSERT_EQ(::mkdir((m + "/full").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(m + "/full/x", "x"));
  EXPECT_EQ(::rename((m + "/e").c_str(), (m + "/full").c_str()), -1);
  EXPECT_EQ(errno, ENOTEMPTY);
  ASSERT_TRUE(fs::CommitMount(m).ok());
  EXPECT_EQ(HeadFile("/b"), "A");
  EXPECT_EQ(HeadFile("/c2"), "C");
  EXPECT_EQ(HeadFile("/e/d2/inner"), "I");
  EXPECT_FALSE(HeadFile("/a").has_value());
  EXPECT_FALSE(HeadFile("/d/inner").has_value());
}

TEST_F(PosixTest, SymlinksAttributesAndTimes) {
  const std::string m = MountAt("m");
  ASSERT_TRUE(WriteFile(m + "/target", "t"));
  ASSERT_EQ(::symlink("target", (m + "/link").c_str()), 0);
  char buf[64] = {};
  ASSERT_EQ(::readlink((m + "/link").c_str(), buf, sizeof(buf)), 6);
  EXPECT_EQ(std::string(buf), "target");
  EXPECT_EQ(ReadFile(m + "/link"), "t");
  ASSERT_EQ(::chmod((m + "/target").c_str(), 0640), 0);
  ASSERT_EQ(::chown((m + "/target").c_str(), 1234, 5678), 0);
  struct timespec times[2] = {{1000, 0}, {2000000000, 123456789}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (m + "/target").c_str(), times, 0), 0);
  ASSERT_TRUE(fs::CommitMount(m).ok());
  const std::string other = MountAt("other");
  struct stat st;
  ASSERT_EQ(::stat((other + "/target").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mtim.tv_sec, 2000000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  ASSERT_EQ(::readlink((other + "/link").c_str(), buf, sizeof(buf)), 6);
  ASSERT_EQ(::lstat((other + "/link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  // Attribute changes of committed files need no copy of their content.
  ASSERT_EQ(::chmod((other + "/target").c_str(), 0600), 0);
  ASSERT_EQ(::stat((other + "/target").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(PosixTest, XattrsFsyncStatfsFifo) {
  const std::string m = MountAt("m");
  const std::string f = m + "/f";
  ASSERT_TRUE(WriteFile(f, "x"));
  ASSERT_EQ(::setxattr(f.c_str(), "user.color", "blue", 4, 0), 0);
  ASSERT_EQ(::setxattr(f.c_str(), "user.color", "red", 3, XATTR_CREATE), -1);
  EXPECT_EQ(errno, EEXIST);
  char buf[64];
  ASSERT_EQ(::getxattr(f.c_str(), "user.color", buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "blue");
  EXPECT_EQ(::getxattr(f.c_str(), "user.none", buf, sizeof(buf)), -1);
  EXPECT_EQ(errno, ENODATA);
  ASSERT_EQ(::setxattr(f.c_str(), "user.other", "1", 1, 0), 0);
  ssize_t n = ::listxattr(f.c_str(), buf, sizeof(buf));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, n), std::string("user.color\0user.other\0", 22));
  ASSERT_EQ(::removexattr(f.c_str(), "user.other"), 0);
  int fd = ::open(f.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::fsync(fd), 0);
  EXPECT_EQ(::fdatasync(fd), 0);
  ::close(fd);
  ASSERT_EQ(::mkfifo((m + "/fifo").c_str(), 0600), 0);
  struct stat st;
  ASSERT_EQ(::stat((m + "/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  struct statvfs vfs;
  ASSERT_EQ(::statvfs(m.c_str(), &vfs), 0);
  EXPECT_EQ(vfs.f_files, store::kDefaultInodeLimit);
  EXPECT_EQ(vfs.f_namemax, 255u);
  ASSERT_TRUE(fs::CommitMount(m).ok());
  const std::string other = MountAt("other");
  ASSERT_EQ(::getxattr((other + "/f").c_str(), "user.color", buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "blue");
  EXPECT_EQ(::getxattr((other + "/f").c_str(), "user.other", buf, sizeof(buf)), -1);
  ASSERT_EQ(::stat((other + "/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

// Privilege is capabilities, as in the kernel: uid 0 that dropped them
// (a container's root with no CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN ...)
// gets what the permission bits give it, nothing more.
TEST_F(PosixTest, RootWithoutCapabilitiesIsBoundByPermissionBits) {
  const std::string m = MountAt("m");
  ASSERT_TRUE(WriteFile(m + "/secret", "theirs"));
  ASSERT_EQ(::chown((m + "/secret").c_str(), 1000, 1000), 0);
  ASSERT_EQ(::chmod((m + "/secret").c_str(), 0600), 0);
  ASSERT_EQ(::mkdir((m + "/theirs").c_str(), 0755), 0);
  ASSERT_EQ(::chown((m + "/theirs").c_str(), 1000, 1000), 0);
  ASSERT_TRUE(WriteFile(m + "/open", "anyone"));
  ASSERT_EQ(::chmod((m + "/open").c_str(), 0644), 0);
  // Fully privileged root: everything, as before.
  EXPECT_EQ(ReadFile(m + "/secret"), "theirs");
  const int rc = RunAsRootWithoutCapabilities([&] {
    if (::open((m + "/secret").c_str(), O_RDONLY) >= 0 || errno != EACCES) return 1;
    if (::open((m + "/theirs/new").c_str(), O_CREAT | O_WRONLY, 0644) >= 0 || errno != EACCES) {
      return 2;
    }
    if (::chmod((m + "/secret").c_str(), 0666) == 0 || errno != EPERM) return 3;
    if (::chown((m + "/open").c_str(), 1000, 1000) == 0 || errno != EPERM) return 4;
    if (::setxattr((m + "/secret").c_str(), "trusted.x", "1", 1, 0) == 0) return 5;
    // What the bits give root as the owner of /open still works.
    int fd = ::open((m + "/open").c_str(), O_RDWR);
    if (fd < 0) return 6;
    ::close(fd);
    return 0;
  });
  EXPECT_EQ(rc, 0) << "step " << rc << " was allowed (or failed wrongly)";
  EXPECT_EQ(ReadFile(m + "/secret"), "theirs");
}

// A directory that is already committed keeps the xattrs set, replaced or
// removed on it in a mount (docs/mount.md), and a chmod alone keeps them.
TEST_F(PosixTest, XattrsOfACommittedDirectoryAreCommitted) {
  auto xattr = [](const std::string& path, const char* name) -> std::optional<std::string> {
    char buf[64];
    ssize_t n = ::getxattr(path.c_str(), name, buf, sizeof(buf));
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  };
  const std::string a = MountAt("a");
  ASSERT_EQ(::mkdir((a + "/d").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(a + "/d/f", "x"));
  ASSERT_EQ(::setxattr((a + "/d").c_str(), "user.keep", "1", 1, 0), 0);
  ASSERT_TRUE(fs::CommitMount(a).ok());
  ASSERT_TRUE(fs::Unmount(a).ok());

  // The directory now exists in the head: change its xattrs in a mount.
  const std::string b = MountAt("b");
  ASSERT_EQ(xattr(b + "/d", "user.keep"), "1");
  ASSERT_EQ(::setxattr((b + "/d").c_str(), "user.color", "blue", 4, 0), 0);
  ASSERT_EQ(::setxattr((b + "/d").c_str(), "user.keep", "2", 1, XATTR_REPLACE), 0);
  ASSERT_TRUE(fs::CommitMount(b).ok());
  const std::string c = MountAt("c");
  EXPECT_EQ(xattr(c + "/d", "user.color"), "blue");
  EXPECT_EQ(xattr(c + "/d", "user.keep"), "2");
  EXPECT_TRUE(Exists(c + "/d/f"));
  ASSERT_TRUE(fs::Unmount(c).ok());

  // A removal is committed too; a chmod of another committed directory
  // (whose xattrs the mount never read) leaves its xattrs alone.
  ASSERT_EQ(::removexattr((b + "/d").c_str(), "user.color"), 0);
  ASSERT_TRUE(fs::CommitMount(b).ok());
  ASSERT_TRUE(fs::Unmount(b).ok());
  const std::string e = MountAt("e");
  EXPECT_EQ(xattr(e + "/d", "user.color"), std::nullopt);
  EXPECT_EQ(xattr(e + "/d", "user.keep"), "2");
  ASSERT_TRUE(fs::Unmount(e).ok());
  const std::string g = MountAt("g");
  ASSERT_EQ(::chmod((g + "/d").c_str(), 0700), 0);
  ASSERT_TRUE(fs::CommitMount(g).ok());
  const std::string h = MountAt("h");
  struct stat st;
  ASSERT_EQ(::stat((h + "/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(xattr(h + "/d", "user.keep"), "2");
}

TEST_F(PosixTest, ListingMergesCommittedAndLocal) {
  const std::string m = MountAt("m");
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE(WriteFile(m + "/f" + std::to_string(i), ""));
  ASSERT_TRUE(fs::CommitMount(m).ok());
  const std::string other = MountAt("other");
  for (int i = 0; i < 3000; i += 2)
    ASSERT_EQ(::unlink((other + "/f" + std::to_string(i)).c_str()), 0);
  ASSERT_TRUE(WriteFile(other + "/new", ""));
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(other)) {
    names.insert(e.path().filename().string());
  }
  EXPECT_EQ(names.size(), 1501u);
  EXPECT_EQ(names.count("f1"), 1u);
  EXPECT_EQ(names.count("f2"), 0u);
  EXPECT_EQ(names.count("new"), 1u);
}

}  // namespace
}  // namespace snapvol::e2e
