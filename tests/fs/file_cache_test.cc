#include "driver/fs/file_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "driver/core/env.h"
#include "driver/core/fault_env.h"
#include "driver/store/local/local_object_store.h"

namespace snapvol::fs {
namespace {

class FileCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Under the build tree, not /tmp: copies carry a user xattr.
    dir_ = std::filesystem::current_path() /
           ("file_cache_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = store::LocalObjectStore::Open((dir_ / "store").string(), core::Env::Default());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    objects_ = std::move(*s);
    chunks_ = std::make_unique<ChunkCache>(objects_.get(), 64, 64 << 20);
  }
  void TearDown() override {
    chunks_.reset();
    objects_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string files_dir() const { return (dir_ / "files").string(); }

  // A file of `parts` (a hole where a part is empty: `hole_bytes` zeros),
  // its chunks stored; returns its layout and puts its bytes in *bytes.
  std::shared_ptr<const FileLayout> Layout(const std::vector<std::string>& parts,
                                           uint64_t hole_bytes, std::string* bytes) {
    objects::Content content;
    bytes->clear();
    for (const std::string& p : parts) {
      objects::ChunkRef* ref = content.add_chunks();
      if (p.empty()) {
        ref->set_size(hole_bytes);
        bytes->append(hole_bytes, '\0');
        continue;
      }
      auto h = objects_->PutContent(store::ObjectKind::kChunk, p);
      EXPECT_TRUE(h.ok());
      ref->set_hash(std::string(h->Bytes()));
      ref->set_size(p.size());
      bytes->append(p);
    }
    EXPECT_TRUE(objects_->Flush().ok());
    auto layout = FileLayout::Load(objects_.get(), content, bytes->size());
    EXPECT_TRUE(layout.ok()) << layout.status().ToString();
    return *layout;
  }

  static std::string Pattern(size_t n, int seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7) >> 5);
    return s;
  }

  static std::string ReadFd(int fd) {
    std::string out;
    char buf[1 << 16];
    for (off_t off = 0;;) {
      ssize_t n = ::pread(fd, buf, sizeof(buf), off);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      off += n;
    }
    return out;
  }

  // Fills `layout` into `cache`, which then counts `fills` copies and serves
  // `bytes` from the descriptor returned (the caller closes it).
  static int FillAndOpen(FileCache& cache, std::shared_ptr<const FileLayout> layout, uint64_t fills,
                         const std::string& bytes) {
    cache.Fill(layout);
    cache.Drain();
    EXPECT_EQ(cache.stats().fills, fills);
    const int fd = cache.Open(*layout);
    EXPECT_GE(fd, 0);
    if (fd >= 0) {
      EXPECT_EQ(ReadFd(fd), bytes);
    }
    return fd;
  }

  // Fills `layout` into `cache` (of directory `dir`), which must fail and
  // leave nothing behind, not even the half-written copy.
  static void ExpectFillFailsCleanly(FileCache& cache, std::shared_ptr<const FileLayout> layout,
                                     const std::string& dir, const std::string& what) {
    cache.Fill(layout);
    cache.Drain();
    EXPECT_EQ(cache.stats().fills, 0u) << what;
    EXPECT_EQ(cache.stats().fill_failures, 1u) << what;
    EXPECT_EQ(cache.Open(*layout), -1) << what;
    EXPECT_TRUE(std::filesystem::is_empty(dir)) << what;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::ObjectStore> objects_;
  std::unique_ptr<ChunkCache> chunks_;
};

TEST_F(FileCacheTest, FillMakesASparseCopyWithTheFilesBytesThatOpenFinds) {
  std::string bytes;
  auto layout = Layout({Pattern(3 << 20, 1), "", Pattern(1 << 20, 2)}, 4 << 20, &bytes);
  FileCache cache(files_dir(), 1ull << 30, chunks_.get());
  EXPECT_EQ(cache.Open(*layout), -1);  // nothing yet
  const int fd = FillAndOpen(cache, layout, 1, bytes);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, bytes.size()) << "the hole was written";
  ::close(fd);
  EXPECT_TRUE(std::filesystem::exists(cache.PathOf(layout->content_key())));
  // Another layout of the same content finds the same copy; a second fill
  // of it copies nothing.
  std::string again;
  auto same = Layout({Pattern(3 << 20, 1), "", Pattern(1 << 20, 2)}, 4 << 20, &again);
  EXPECT_EQ(same->content_key(), layout->content_key());
  cache.Fill(same);
  cache.Drain();
  EXPECT_EQ(cache.stats().fills, 1u);
  // Other content has another key.
  std::string other_bytes;
  auto other = Layout({Pattern(3 << 20, 3)}, 0, &other_bytes);
  EXPECT_NE(other->content_key(), layout->content_key());
  EXPECT_EQ(cache.Open(*other), -1);
}

TEST_F(FileCacheTest, SmallFilesAndAnOffCacheAreNeverCopied) {
  std::string bytes;
  auto small = Layout({Pattern(FileCache::kMinFileBytes - 1, 1)}, 0, &bytes);
  FileCache cache(files_dir(), 1ull << 30, chunks_.get());
  cache.Fill(small);
  cache.Drain();
  EXPECT_EQ(cache.Open(*small), -1);
  EXPECT_EQ(cache.stats().fills, 0u);

  auto big = Layout({Pattern(2 << 20, 1)}, 0, &bytes);
  FileCache off((dir_ / "off").string(), 0, chunks_.get());
  EXPECT_FALSE(off.enabled());
  off.Fill(big);
  off.Drain();
  EXPECT_EQ(off.Open(*big), -1);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "off"));
  // A file bigger than the whole budget is not copied either.
  FileCache tiny((dir_ / "tiny").string(), 1 << 20, chunks_.get());
  tiny.Fill(big);
  tiny.Drain();
  EXPECT_EQ(tiny.Open(*big), -1);
}

TEST_F(FileCacheTest, ACopyChangedInPlaceIsDroppedNotServed) {
  std::string bytes;
  auto layout = Layout({Pattern(2 << 20, 1)}, 0, &bytes);
  FileCache cache(files_dir(), 1ull << 30, chunks_.get());
  cache.Fill(layout);
  cache.Drain();
  const std::string path = cache.PathOf(layout->content_key());
  ASSERT_TRUE(std::filesystem::exists(path));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a later mtime
  ::chmod(path.c_str(), 0644);
  {
    int fd = ::open(path.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "x", 1, 100), 1);
    ::close(fd);
  }
  EXPECT_EQ(cache.Open(*layout), -1);
  EXPECT_FALSE(std::filesystem::exists(path)) << "a damaged copy stays";
  // A copy whose size is not the file's is dropped too.
  cache.Fill(layout);
  cache.Drain();
  ASSERT_TRUE(std::filesystem::exists(path));
  ASSERT_EQ(::truncate(path.c_str(), 1 << 20), 0);
  EXPECT_EQ(cache.Open(*layout), -1);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(FileCacheTest, ACorruptChunkLeavesNoCopy) {
  std::string bytes;
  auto layout = Layout({Pattern(2 << 20, 1), Pattern(2 << 20, 2)}, 0, &bytes);
  // Damage the second chunk's object file.
  const std::string damaged_hex = core::Hash::Of(Pattern(2 << 20, 2)).Hex();
  int damaged = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ / "store" / "objects")) {
    if (!e.is_regular_file() || e.path().filename().string().find(damaged_hex.substr(2)) != 0) {
      continue;
    }
    int fd = ::open(e.path().c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "!", 1, 5000), 1);
    ::close(fd);
    ++damaged;
  }
  ASSERT_EQ(damaged, 1);
  FileCache cache(files_dir(), 1ull << 30, chunks_.get());
  ExpectFillFailsCleanly(cache, layout, files_dir(), "corrupt chunk");
  // Not tried again: it would read the whole file to fail again.
  cache.Fill(layout);
  cache.Drain();
  EXPECT_EQ(cache.stats().fill_failures, 1u);
}

TEST_F(FileCacheTest, EvictionKeepsTheBudgetAndDropsTheLeastRecentlyOpened) {
  std::string b1, b2, b3;
  auto one = Layout({Pattern(2 << 20, 1)}, 0, &b1);
  auto two = Layout({Pattern(2 << 20, 2)}, 0, &b2);
  auto three = Layout({Pattern(2 << 20, 3)}, 0, &b3);
  FileCache cache(files_dir(), 5 << 20, chunks_.get());  // room for two
  cache.Fill(one);
  cache.Drain();
  cache.Fill(two);
  cache.Drain();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // Opening `one` makes `two` the least recently used.
  int fd = cache.Open(*one);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  cache.Fill(three);
  cache.Drain();
  EXPECT_EQ(cache.stats().evictions, 1u);
  fd = cache.Open(*one);
  EXPECT_GE(fd, 0);
  if (fd >= 0) ::close(fd);
  EXPECT_EQ(cache.Open(*two), -1);
  fd = cache.Open(*three);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(ReadFd(fd), b3);
  ::close(fd);
}

TEST_F(FileCacheTest, HalfWrittenCopiesOfServersThatAreGoneAreRemoved) {
  std::filesystem::create_directories(files_dir());
  // A pid that cannot be running (above pid_max), and our own.
  const std::string dead = files_dir() + "/.fill.99999999.0";
  const std::string live = files_dir() + "/.fill." + std::to_string(::getpid()) + ".7";
  std::ofstream(dead) << "partial";
  std::ofstream(live) << "partial";
  FileCache cache(files_dir(), 1ull << 30, chunks_.get());
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_TRUE(std::filesystem::exists(live));
}

TEST_F(FileCacheTest, BudgetComesFromTheEnvironmentOrTheFileSystem) {
  ::setenv("SNAPVOL_FILE_CACHE_BYTES", "12345", 1);
  EXPECT_EQ(FileCache::BudgetFor(files_dir()), 12345u);
  ::setenv("SNAPVOL_FILE_CACHE_BYTES", "0", 1);
  EXPECT_EQ(FileCache::BudgetFor(files_dir()), 0u);
  ::setenv("SNAPVOL_FILE_CACHE_BYTES", "lots", 1);  // ignored: the default
  const uint64_t fallback = FileCache::BudgetFor(files_dir());
  ::unsetenv("SNAPVOL_FILE_CACHE_BYTES");
  // Not existing yet: measured on the nearest existing parent.
  const uint64_t dflt = FileCache::BudgetFor(files_dir() + "/not/yet");
  EXPECT_GT(dflt, 0u);
  EXPECT_EQ(fallback, dflt);
}

// Faults through a FaultEnv: a copy that cannot be finished leaves nothing
// behind, and a crash at any step never leaves a partial copy to be served.
TEST_F(FileCacheTest, FullDiskLeavesNoCopyAndIsTriedAgain) {
  std::string bytes;
  auto layout = Layout({Pattern(2 << 20, 1), "", Pattern(1 << 20, 2)}, 1 << 20, &bytes);
  core::FaultEnv env(core::Env::Default());
  FileCache cache(files_dir(), 1ull << 30, chunks_.get(), &env);
  env.FillDiskAfter(1 << 20);
  ExpectFillFailsCleanly(cache, layout, files_dir(), "full disk");
  // Room again: a full disk passes, so the copy is tried again.
  env.Reset();
  const int fd = FillAndOpen(cache, layout, 1, bytes);
  if (fd >= 0) ::close(fd);
}

TEST_F(FileCacheTest, FailedSyncOrMarkLeavesNoCopy) {
  std::string bytes;
  auto layout = Layout({Pattern(2 << 20, 3)}, 0, &bytes);
  for (const char* op : {"create", "write", "truncate", "sync", "xattr", "chmod", "rename"}) {
    const std::string dir = files_dir() + "-" + op;
    core::FaultEnv env(core::Env::Default());
    FileCache cache(dir, 1ull << 30, chunks_.get(), &env);
    env.FailOperation(op, EIO);
    ExpectFillFailsCleanly(cache, layout, dir, op);
  }
}

TEST_F(FileCacheTest, CrashAtEveryStepOfACopyNeverServesAPartialOne) {
  std::string bytes;
  auto layout = Layout({Pattern(2 << 20, 4), "", Pattern(1 << 20, 5)}, 1 << 20, &bytes);
  int crash_points = 0;
  for (int64_t step = 1;; ++step) {
    std::filesystem::remove_all(files_dir());
    core::FaultEnv env(core::Env::Default());
    bool finished;
    {
      FileCache cache(files_dir(), 1ull << 30, chunks_.get(), &env);
      env.CrashAtStep(env.steps() + step);
      cache.Fill(layout);
      cache.Drain();
      finished = !env.crashed();
    }
    crash_points += finished ? 0 : 1;
    // The server died there (the page cache keeps what it wrote); then the
    // machine did too (only what was synced is left).
    for (bool power_loss : {false, true}) {
      if (power_loss) {
        ASSERT_TRUE(env.DropUnsyncedData().ok());
      }
      FileCache after(files_dir(), 1ull << 30, chunks_.get());
      const int fd = after.Open(*layout);
      if (fd >= 0) {
        EXPECT_EQ(ReadFd(fd), bytes) << "crash at step " << step << " served a partial copy";
        ::close(fd);
      } else {
        EXPECT_FALSE(finished && !power_loss) << "a finished copy is not found";
      }
    }
    if (finished) break;
  }
  EXPECT_GE(crash_points, 7);  // create, copy, truncate, sync, mark, seal, rename
}

}  // namespace
}  // namespace snapvol::fs
