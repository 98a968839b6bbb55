#include "driver/fs/chunk_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "driver/core/env.h"
#include "driver/store/local/local_object_store.h"

namespace snapvol::fs {
namespace {

class ChunkCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::current_path() /
           ("chunk_cache_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = store::LocalObjectStore::Open(dir_.string(), core::Env::Default());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    objects_ = std::move(*s);
    data_.resize(4 << 20);
    for (size_t i = 0; i < data_.size(); ++i) data_[i] = static_cast<char>((i * 131) >> 7);
    auto h = objects_->PutContent(store::ObjectKind::kChunk, data_);
    ASSERT_TRUE(h.ok());
    hash_ = *h;
    ASSERT_TRUE(objects_->Flush().ok());
  }
  void TearDown() override {
    objects_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string ObjectFile() const {
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ / "objects")) {
      if (e.is_regular_file() && e.path().filename().string().find(hash_.Hex().substr(2)) == 0)
        return e.path().string();
    }
    return "";
  }

  // Pages of the object file in the page cache.
  size_t ResidentPages(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    void* m = ::mmap(nullptr, data_.size(), PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    EXPECT_NE(m, MAP_FAILED);
    std::vector<unsigned char> vec(data_.size() / 4096);
    ::mincore(m, data_.size(), vec.data());
    ::munmap(m, data_.size());
    size_t n = 0;
    for (unsigned char v : vec) n += v & 1;
    return n;
  }

  void DropFromPageCache(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::ObjectStore> objects_;
  std::string data_;
  Hash hash_;
};

TEST_F(ChunkCacheTest, ServesVerifiedChunksFromTheObjectFile) {
  ChunkCache cache(objects_.get(), 8, 1 << 20);
  auto c = cache.Get(hash_, data_.size());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_GE((*c)->fd, 0);
  std::string got(4096, '\0');
  ASSERT_EQ(::pread((*c)->fd, got.data(), got.size(), 12345), 4096);
  EXPECT_EQ(got, data_.substr(12345, 4096));
  // A reference naming another size does not match the object.
  ChunkCache other(objects_.get(), 8, 1 << 20);
  EXPECT_EQ(other.Get(hash_, data_.size() + 1).status().code(), core::Code::kCorruption);
}

// A chunk this host verified before is not hashed again, so nothing would
// read it into memory: the cache asks for it in the background instead, and
// a random reader's next reads in the chunk find it in memory.
TEST_F(ChunkCacheTest, AChunkVerifiedBeforeIsReadAheadWhole) {
  const std::string path = ObjectFile();
  ASSERT_FALSE(path.empty());
  {
    ChunkCache first(objects_.get(), 8, 1 << 20);
    ASSERT_TRUE(first.Get(hash_, data_.size()).ok());  // hashes it, leaves the memo
  }
  ASSERT_TRUE(std::filesystem::exists(dir_ / "verified" / hash_.Hex()));
  DropFromPageCache(path);
  ASSERT_LT(ResidentPages(path), 64u);
  ChunkCache cache(objects_.get(), 8, 1 << 20);
  auto c = cache.Get(hash_, data_.size());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  size_t resident = 0;
  for (int i = 0; i < 300 && resident < data_.size() / 4096; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    resident = ResidentPages(path);
  }
  EXPECT_EQ(resident, data_.size() / 4096);
}

// S10: the object file edited in place after this host verified it, its
// mtime put back (touch -d): the memo no longer matches, the chunk is
// hashed again, reported corrupt and quarantined.
TEST_F(ChunkCacheTest, AChunkEditedInPlaceWithItsMtimePutBackIsCorrupt) {
  const std::string path = ObjectFile();
  ASSERT_FALSE(path.empty());
  {
    ChunkCache first(objects_.get(), 8, 1 << 20);
    ASSERT_TRUE(first.Get(hash_, data_.size()).ok());
  }
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(::fstat(fd, &st), 0);
  const char bad = static_cast<char>(data_[4096] ^ 1);
  ASSERT_EQ(::pwrite(fd, &bad, 1, 4096), 1);
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::futimens(fd, times), 0);
  ::close(fd);
  ChunkCache cache(objects_.get(), 8, 1 << 20);
  EXPECT_EQ(cache.Get(hash_, data_.size()).status().code(), core::Code::kCorruption);
  EXPECT_EQ(cache.stats().corrupt, 1u);
  EXPECT_FALSE(std::filesystem::exists(path));  // moved to quarantine/
  EXPECT_FALSE(std::filesystem::is_empty(dir_ / "quarantine"));
}

}  // namespace
}  // namespace snapvol::fs
