// Passthrough reads (docs/mount.md): after a first read of a large committed
// file the host keeps a copy of it, and later opens have the kernel read
// that copy directly. Whatever mix of handles is open on an inode, reading
// opens succeed and each handle sees the content S2/S4 promise it; what
// would change the bytes of a file read that way waits (ETXTBSY). Real FUSE mounts
// under /tmp; needs root and a kernel with FUSE passthrough (>= 6.9).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "e2e/mount_fixture.h"

namespace snapvol::e2e {
namespace {

class PassthroughTest : public MountFixture {
 protected:
  void SetUp() override {
    ::unsetenv("SNAPVOL_PASSTHROUGH");
    ::unsetenv("SNAPVOL_FILE_CACHE_BYTES");
    MountFixture::SetUp();
  }
  void TearDown() override {
    MountFixture::TearDown();
    ::unsetenv("SNAPVOL_PASSTHROUGH");
  }

  static std::string Data(size_t n, char seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + (i * 7) % 61);
    return s;
  }

  // Writes `data` at /big through a first mount and commits it.
  void CommitBig(const std::string& data) {
    const std::string w = MountAt("writer");
    ASSERT_TRUE(WriteFile(w + "/big", data));
    ASSERT_TRUE(fs::Unmount(w).ok());
  }

  static bool KernelHasPassthrough() {
    struct utsname u;
    if (::uname(&u) != 0) return false;
    int major = 0, minor = 0;
    std::sscanf(u.release, "%d.%d", &major, &minor);
    return major > 6 || (major == 6 && minor >= 9);
  }

  fs::MountStatus Status(const std::string& m) {
    auto st = fs::StatusOf(m);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return st.ok() ? *st : fs::MountStatus{};
  }

  // Waits until the host has made `n` copies in this mount.
  bool WaitForFills(const std::string& m, uint64_t n) {
    for (int i = 0; i < 1000; ++i) {
      if (Status(m).file_cache_fills >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  // Commits `data` as /big, mounts it at "m" and reads it once, so the host
  // copies it. "" if the kernel has no passthrough.
  std::string MountWithCopy(const std::string& data) {
    CommitBig(data);
    const std::string m = MountAt("m");
    if (!Status(m).passthrough_accepted) return "";
    EXPECT_EQ(ReadFile(m + "/big"), data);
    EXPECT_TRUE(WaitForFills(m, 1));
    return m;
  }

  static std::string ReadAll(int fd) {
    std::string out;
    std::string buf(1 << 20, '\0');
    for (off_t off = 0;;) {
      ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
      if (n <= 0) break;
      out.append(buf.data(), static_cast<size_t>(n));
      off += n;
    }
    return out;
  }

  // The first `size` bytes of `path` as an mmap of it shows them.
  static std::string Mapped(const std::string& path, size_t size) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return "open failed";
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) return "mmap failed";
    std::string out(static_cast<const char*>(map), size);
    ::munmap(map, size);
    return out;
  }

  static int OpenOrFail(const std::string& path, int flags) {
    int fd = ::open(path.c_str(), flags);
    EXPECT_GE(fd, 0) << path << ": " << std::strerror(errno);
    return fd;
  }
};

TEST_F(PassthroughTest, ALargeFileReadOncePassesThroughToTheHostsCopyFromThenOn) {
  const std::string data = Data(8 << 20, 'a');
  CommitBig(data);
  const std::string m = MountAt("m");
  fs::MountStatus st = Status(m);
  if (!st.passthrough_accepted) {
    ASSERT_FALSE(KernelHasPassthrough()) << "the kernel supports passthrough, the mount has it off";
    GTEST_SKIP() << "kernel without FUSE passthrough";
  }
  // Accepted at INIT, but not in use until a backing file is.
  EXPECT_FALSE(st.passthrough);
  // The first read goes through the mount and has the host copy the file.
  EXPECT_EQ(ReadFile(m + "/big"), data);
  ASSERT_TRUE(WaitForFills(m, 1));
  EXPECT_EQ(Status(m).passthrough_opens, 0u);
  EXPECT_FALSE(Status(m).passthrough);
  // One copy, readable only by the server (users read it through the mount,
  // with its permission checks).
  int copies = 0;
  for (const auto& e : std::filesystem::directory_iterator(state_dir() + "/files")) {
    ++copies;
    EXPECT_EQ(e.status().permissions(), std::filesystem::perms::owner_read) << e.path();
  }
  EXPECT_EQ(copies, 1);
  EXPECT_EQ(std::filesystem::status(state_dir() + "/files").permissions(),
            std::filesystem::perms::owner_all);
  // From now on the kernel reads the copy: no read reaches the server.
  const uint64_t reads = Status(m).reads;
  EXPECT_GT(reads, 0u);
  EXPECT_EQ(ReadFile(m + "/big"), data);
  EXPECT_EQ(Status(m).passthrough_opens, 1u);
  EXPECT_TRUE(Status(m).passthrough);
  EXPECT_EQ(Status(m).reads, reads);
  // mmap of a passed-through file maps the copy.
  EXPECT_EQ(Mapped(m + "/big", data.size()), data);
  // Another mount of the host uses the same copy at once, even cold.
  ASSERT_TRUE(fs::Unmount(m).ok());
  const std::string n = MountAt("n");
  EXPECT_EQ(ReadFile(n + "/big"), data);
  EXPECT_EQ(Status(n).passthrough_opens, 1u);
  EXPECT_EQ(Status(n).file_cache_hits, 1u);
}

TEST_F(PassthroughTest, AMountEndingRightAfterTheFirstReadStillLeavesTheCopy) {
  const std::string data = Data(64 << 20, 'e');
  CommitBig(data);
  const std::string m = MountAt("m");
  if (!Status(m).passthrough_accepted) GTEST_SKIP() << "kernel without FUSE passthrough";
  EXPECT_EQ(ReadFile(m + "/big"), data);
  // A short job: read, then gone. The copy started on the last close and
  // is let finish (docs/mount.md).
  ASSERT_TRUE(fs::Unmount(m).ok());
  const std::string n = MountAt("n");
  EXPECT_EQ(ReadFile(n + "/big"), data);
  EXPECT_EQ(Status(n).passthrough_opens, 1u);
}

TEST_F(PassthroughTest, ChangesWaitUntilNoHandlePassesThroughThenShowAtOnce) {
  const std::string data = Data(4 << 20, 'k');
  const std::string m = MountWithCopy(data);
  if (m.empty()) GTEST_SKIP() << "kernel without FUSE passthrough";

  const int reader = OpenOrFail(m + "/big", O_RDONLY);
  EXPECT_EQ(Status(m).passthrough_opens, 1u);
  const int second = OpenOrFail(m + "/big", O_RDONLY);  // the same copy
  EXPECT_EQ(Status(m).passthrough_opens, 2u);
  // The reads never reach the server: the kernel reads the copy.
  const uint64_t reads = Status(m).reads;
  EXPECT_EQ(ReadAll(reader), data);
  EXPECT_EQ(ReadAll(second), data);
  EXPECT_EQ(Status(m).reads, reads);
  // While handles pass through, what would change the bytes is refused
  // (the readers would not see it, S2; a writer's mmap would reach the
  // host's copy): ETXTBSY, as for a running program.
  EXPECT_EQ(::open((m + "/big").c_str(), O_RDWR), -1);
  EXPECT_EQ(errno, ETXTBSY);
  EXPECT_EQ(::open((m + "/big").c_str(), O_WRONLY | O_APPEND), -1);
  EXPECT_EQ(errno, ETXTBSY);
  EXPECT_EQ(::truncate((m + "/big").c_str(), 10), -1);
  EXPECT_EQ(errno, ETXTBSY);
  // Replacing the name is fine: the open handles keep their file.
  ASSERT_TRUE(WriteFile(m + "/replacement", "short"));
  ASSERT_EQ(::rename((m + "/replacement").c_str(), (m + "/big").c_str()), 0);
  EXPECT_EQ(ReadFile(m + "/big"), "short");
  EXPECT_EQ(ReadAll(reader), data);
  ::close(second);
  ::close(reader);
  ASSERT_TRUE(fs::CommitMount(m).ok());
  EXPECT_EQ(HeadFile("/big"), "short");
}

TEST_F(PassthroughTest, AWriterOpenFirstKeepsReadersOnTheMountSeeingItsWrites) {
  const std::string data = Data(4 << 20, 'w');
  const std::string m = MountWithCopy(data);
  if (m.empty()) GTEST_SKIP() << "kernel without FUSE passthrough";
  // With no handle passing through, a writer opens as usual.
  const int writer = OpenOrFail(m + "/big", O_RDWR);
  ASSERT_EQ(::pwrite(writer, "NEW!", 4, 0), 4);
  // Readers opened now use the mount and see the write at once (S2), and
  // later writes too.
  const int reader = OpenOrFail(m + "/big", O_RDONLY);
  std::string now = data;
  now.replace(0, 4, "NEW!");
  EXPECT_EQ(ReadAll(reader), now);
  ASSERT_EQ(::pwrite(writer, "MORE", 4, 8), 4);
  now.replace(8, 4, "MORE");
  EXPECT_EQ(ReadAll(reader), now);
  EXPECT_EQ(Status(m).passthrough_opens, 0u);
  ::close(reader);
  ::close(writer);
  // The file now has local content: read through the mount, committed.
  EXPECT_EQ(ReadFile(m + "/big"), now);
  EXPECT_EQ(Status(m).passthrough_opens, 0u);
  ASSERT_TRUE(fs::CommitMount(m).ok());
  EXPECT_EQ(HeadFile("/big"), now);
}

TEST_F(PassthroughTest, AHandleUsingThePageCacheKeepsNewOpensOnThePageCache) {
  const std::string data = Data(4 << 20, 'p');
  CommitBig(data);
  const std::string m = MountAt("m");
  if (!Status(m).passthrough_accepted) GTEST_SKIP() << "kernel without FUSE passthrough";
  // Opened before any copy exists: it uses the page cache.
  const int early = OpenOrFail(m + "/big", O_RDONLY);
  EXPECT_EQ(ReadAll(early), data);
  EXPECT_EQ(ReadFile(m + "/big"), data);  // a second handle, closed: the copy is made
  ASSERT_TRUE(WaitForFills(m, 1));
  // While `early` is open a passed-through open would fail in the kernel;
  // this one must use the page cache too.
  const int later = OpenOrFail(m + "/big", O_RDONLY);
  EXPECT_EQ(ReadAll(later), data);
  EXPECT_EQ(Status(m).passthrough_opens, 0u);
  ::close(later);
  ::close(early);
  // RELEASE is asynchronous: an open racing it still finds a page-cache
  // handle and uses the page cache too; once the server has it, opens pass
  // through.
  for (int i = 0; i < 200 && Status(m).passthrough_opens == 0; ++i) {
    EXPECT_EQ(ReadFile(m + "/big"), data);
    if (Status(m).passthrough_opens == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Status(m).passthrough_opens, 1u);
}

TEST_F(PassthroughTest, AReloadWhileACopyIsOpenShowsTheNewContentToNewOpens) {
  const std::string data = Data(4 << 20, 'r');
  const std::string m = MountWithCopy(data);
  if (m.empty()) GTEST_SKIP() << "kernel without FUSE passthrough";
  const int old_reader = OpenOrFail(m + "/big", O_RDONLY);
  const std::string other = MountAt("other");
  const std::string next = Data(3 << 20, 's');
  ASSERT_TRUE(WriteFile(other + "/big", next));
  ASSERT_TRUE(fs::CommitMount(other).ok());
  ASSERT_TRUE(fs::ReloadMount(m).ok());
  EXPECT_EQ(ReadFile(m + "/big"), next);
  EXPECT_EQ(Mapped(m + "/big", next.size()), next);
  EXPECT_EQ(ReadAll(old_reader), data);
  ::close(old_reader);
}

TEST_F(PassthroughTest, TurnedOffByTheEnvironmentNothingIsCopied) {
  const std::string data = Data(4 << 20, 'o');
  CommitBig(data);
  ::setenv("SNAPVOL_PASSTHROUGH", "0", 1);
  const std::string m = MountAt("m");
  EXPECT_FALSE(Status(m).passthrough_accepted);
  EXPECT_FALSE(Status(m).passthrough);
  EXPECT_EQ(ReadFile(m + "/big"), data);
  EXPECT_EQ(ReadFile(m + "/big"), data);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(Status(m).file_cache_fills, 0u);
  EXPECT_EQ(Status(m).passthrough_opens, 0u);
}

TEST_F(PassthroughTest, ACorruptChunkIsNeverCopiedAndStaysEio) {
  const std::string data = Data(6 << 20, 'c');
  CommitBig(data);
  ASSERT_GT(DamageChunkObjects(store_dir(), 100, '#'), 0);
  const std::string m = MountAt("m");
  for (int round = 0; round < 2; ++round) EXPECT_GT(PiecesFailingWithEio(m + "/big", data), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(Status(m).file_cache_fills, 0u);
  EXPECT_EQ(Status(m).passthrough_opens, 0u);
}

}  // namespace
}  // namespace snapvol::e2e
