// Unit tests of UpperFile: direct-I/O writes land exactly like buffered ones,
// and the streaming commit (a big file written front to back is chunked as
// it is written) gives the same content a read-back would, and is dropped
// whenever the file changes any other way.
#include "driver/fs/upper_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "driver/core/fault_env.h"
#include "driver/store/store.h"
#include "driver/volume/file_writer.h"

namespace snapvol::fs {
namespace {

namespace stdfs = std::filesystem;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class UpperFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = stdfs::temp_directory_path() /
           ("snapvol-upper-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    stdfs::remove_all(dir_);
    stdfs::create_directories(dir_ / "data");
    auto st = store::OpenStore((dir_ / "store").string(), core::Env::Default());
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(*st);
  }
  void TearDown() override {
    store_.reset();
    stdfs::remove_all(dir_);
  }

  std::shared_ptr<UpperFile> NewFile(bool streaming) {
    const uint64_t id = ++ids_;
    auto f = UpperFile::Create((dir_ / "data" / std::to_string(id)).string(), id);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    if (streaming) (*f)->EnableStreaming(objects());
    return *f;
  }
  store::ObjectStore* objects() { return store_->objects.get(); }

  static void Write(UpperFile& f, const std::string& data, uint64_t off) {
    auto use = f.Acquire();
    ASSERT_TRUE(use.ok());
    UpperFile::WriteScope scope(&f);
    auto n = use->Pwrite(data, off);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, data.size());
  }
  // Writes in `piece`-sized requests, front to back, as the kernel would.
  static void WriteSequential(UpperFile& f, const std::string& data, size_t piece) {
    for (size_t off = 0; off < data.size(); off += piece) Write(f, data.substr(off, piece), off);
  }
  // Changes bytes behind the file's back (no WriteScope): a snapshot that
  // reads the file sees them, one taken from the stream does not.
  static void Tamper(const UpperFile& f, uint64_t off) {
    int fd = ::open(f.path().c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "TAMPERED", 8, static_cast<off_t>(off)), 8);
    ::close(fd);
  }
  static std::string ReadAll(const UpperFile& f) {
    auto use = f.Acquire();
    EXPECT_TRUE(use.ok());
    auto size = f.Size();
    EXPECT_TRUE(size.ok());
    std::string out(*size, '\0');
    EXPECT_EQ(::pread(use->fd(), out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
    return out;
  }
  // The content FileWriter gives for `data` in one stream.
  std::string ContentOf(const std::string& data) {
    volume::FileWriter w(objects());
    EXPECT_TRUE(w.Write(data).ok());
    auto c = w.Finish();
    EXPECT_TRUE(c.ok());
    return c->SerializeAsString();
  }
  std::string SnapshotContent(UpperFile& f) {
    auto snap = f.Snapshot(objects(), 1);
    EXPECT_TRUE(snap.ok()) << snap.status().ToString();
    EXPECT_TRUE(snap->has_value());
    return (*snap)->content.SerializeAsString();
  }

  // Seals `f`, changes its bytes at `at` behind its back, and checks what a
  // commit takes: the written `data` if it came from the stream,
  // `data` with the change if the commit read the file back.
  void ExpectStreamed(UpperFile& f, const std::string& data, uint64_t at = 0) {
    f.SealStream();
    Tamper(f, at);
    EXPECT_EQ(SnapshotContent(f), ContentOf(data));
  }
  void ExpectReadBack(UpperFile& f, std::string data, uint64_t at = 0) {
    f.SealStream();
    Tamper(f, at);
    data.replace(at, 8, "TAMPERED");
    EXPECT_EQ(SnapshotContent(f), ContentOf(data));
  }

  stdfs::path dir_;
  std::unique_ptr<store::Store> store_;
  uint64_t ids_ = 0;
};

TEST_F(UpperFileTest, DirectAndBufferedWritesLandTheSameBytes) {
  auto f = NewFile(false);
  std::string shadow;
  std::mt19937 rng(7);
  // Aligned big writes (direct), unaligned heads and tails, small writes,
  // overwrites and a gap that must read back as zeros.
  const std::vector<std::pair<uint64_t, size_t>> writes = {
      {0, 1 << 20},          {(1 << 20) + 100, (1 << 20) + 123},
      {4096, 300 << 10},     {5 << 20, 7},
      {(3 << 20) + 1, 4095}, {(6 << 20), 2 << 20},
      {(6 << 20) + 8192, 1}, {123, 1 << 20}};
  for (auto [off, len] : writes) {
    std::string data = RandomBytes(len, static_cast<uint32_t>(rng()));
    Write(*f, data, off);
    if (shadow.size() < off + len) shadow.resize(off + len, '\0');
    shadow.replace(off, len, data);
  }
  EXPECT_EQ(ReadAll(*f), shadow);
}

TEST_F(UpperFileTest, BigSequentialFileIsCommittedFromItsStream) {
  auto f = NewFile(true);
  const std::string data = RandomBytes(9 << 20, 1);
  f->AddWriter();
  WriteSequential(*f, data, 1 << 20);
  f->RemoveWriter();
  // The content is the written bytes, chunked exactly as a read-back would.
  ExpectStreamed(*f, data, 5 << 20);
}

TEST_F(UpperFileTest, CommitOfAStillOpenFileFinishesItsStream) {
  auto f = NewFile(true);
  const std::string data = RandomBytes(5 << 20, 2);
  WriteSequential(*f, data, 1 << 20);
  EXPECT_EQ(SnapshotContent(*f), ContentOf(data));
}

TEST_F(UpperFileTest, WithoutStreamingTheFileIsReadBack) {
  auto f = NewFile(false);
  const std::string data = RandomBytes(5 << 20, 3);
  WriteSequential(*f, data, 1 << 20);
  ExpectReadBack(*f, data, 1 << 20);
}

TEST_F(UpperFileTest, WriteOutOfOrderDropsTheStream) {
  auto f = NewFile(true);
  std::string data = RandomBytes(4 << 20, 4);
  Write(*f, data.substr(0, 1 << 20), 0);
  Write(*f, data.substr(2 << 20), 2 << 20);
  Write(*f, data.substr(1 << 20, 1 << 20), 1 << 20);
  ExpectReadBack(*f, data);
}

TEST_F(UpperFileTest, TruncateDropsTheStream) {
  auto f = NewFile(true);
  std::string data = RandomBytes(3 << 20, 5);
  WriteSequential(*f, data, 1 << 20);
  ASSERT_TRUE(f->Truncate(2 << 20).ok());
  data.resize(2 << 20);
  ExpectReadBack(*f, data);
}

TEST_F(UpperFileTest, WriteAfterTheStreamWasSealedIsCommittedToo) {
  auto f = NewFile(true);
  std::string data = RandomBytes(3 << 20, 6);
  WriteSequential(*f, data, 1 << 20);
  f->SealStream();
  const std::string more = RandomBytes(100, 7);
  Write(*f, more, data.size());
  EXPECT_EQ(SnapshotContent(*f), ContentOf(data + more));
}

TEST_F(UpperFileTest, SmallWritesDoNotStream) {
  auto f = NewFile(true);
  const std::string data = RandomBytes(2 << 20, 8);
  WriteSequential(*f, data, 64 << 10);
  ExpectReadBack(*f, data);
}

TEST_F(UpperFileTest, AtMostKMaxStreamsStreamAtOnce) {
  std::vector<std::shared_ptr<UpperFile>> files;
  std::vector<std::string> datas;
  for (int i = 0; i <= UpperFile::kMaxStreams; ++i) {
    files.push_back(NewFile(true));
    datas.push_back(RandomBytes(1 << 20, 10 + i));
    Write(*files.back(), datas.back(), 0);
  }
  // The last one found no free stream: it is read back.
  ExpectReadBack(*files.back(), datas.back());
  // The others streamed; sealing one frees its slot for a new file.
  ExpectStreamed(*files[0], datas[0]);
  auto next = NewFile(true);
  const std::string data = RandomBytes(1 << 20, 99);
  Write(*next, data, 0);
  ExpectStreamed(*next, data);
}

// A file removed while it streams (deleted while being written) gives its
// stream slot back.
TEST_F(UpperFileTest, DestroyedStreamingFilesFreeTheirSlots) {
  for (int round = 0; round < 3; ++round) {
    std::vector<std::shared_ptr<UpperFile>> files;
    for (int i = 0; i < UpperFile::kMaxStreams; ++i) {
      files.push_back(NewFile(true));
      Write(*files.back(), RandomBytes(1 << 20, 20 + i), 0);
    }
  }
  auto f = NewFile(true);
  const std::string data = RandomBytes(1 << 20, 30);
  Write(*f, data, 0);
  ExpectStreamed(*f, data);
}

// Faults through a FaultEnv: what reaches the disk, and what the caller hears.
class UpperFileFaultTest : public UpperFileTest {
 protected:
  std::shared_ptr<UpperFile> NewFaultFile() {
    const uint64_t id = ++ids_;
    auto f = UpperFile::Create(Path(id), id, &env_);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return *f;
  }
  std::string Path(uint64_t id) const { return (dir_ / "data" / std::to_string(id)).string(); }
  static Result<size_t> TryWrite(UpperFile& f, const std::string& data, uint64_t off) {
    ASSIGN_OR_RETURN(UpperFile::Use use, f.Acquire());
    UpperFile::WriteScope scope(&f);
    return use.Pwrite(data, off);
  }
  std::string OnDisk(uint64_t id) {
    auto bytes = core::Env::Default()->ReadFile(Path(id));
    return bytes.ok() ? *bytes : "<" + bytes.status().ToString() + ">";
  }

  core::FaultEnv env_{core::Env::Default()};
};

TEST_F(UpperFileFaultTest, FullDiskIsAShortWriteThenEnospc) {
  const std::string small = RandomBytes(5000, 1);
  const std::string big = RandomBytes(1 << 20, 2);  // aligned: the direct path
  for (const std::string* data : {&small, &big}) {
    auto f = NewFaultFile();
    env_.FillDiskAfter(data->size() / 2);
    // What fits is written and reported, as write(2) does; the file's size
    // is what the caller was told.
    Result<size_t> n = TryWrite(*f, *data, 0);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, data->size() / 2);
    EXPECT_EQ(ReadAll(*f), data->substr(0, *n));
    Result<size_t> full = TryWrite(*f, data->substr(*n), *n);
    EXPECT_EQ(full.status().sys_errno(), ENOSPC) << full.status().ToString();
    EXPECT_TRUE(full.status().Is(core::Code::kResourceExhausted));
    EXPECT_EQ(*f->Size(), *n);
    env_.Reset();
    ASSERT_TRUE(TryWrite(*f, data->substr(*n), *n).ok());  // room again
    EXPECT_EQ(ReadAll(*f), *data);
  }
}

TEST_F(UpperFileFaultTest, FailedSyncSurfacesAndStaysFailed) {
  auto f = NewFaultFile();
  ASSERT_TRUE(TryWrite(*f, "acknowledged", 0).ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(TryWrite(*f, "maybe lost", 12).ok());
  env_.FailOperation("sync", EIO);
  EXPECT_EQ(f->Sync().sys_errno(), EIO);
  env_.FailOperation("", 0);
  // fdatasync would succeed now; the bytes it failed to write may be gone.
  EXPECT_EQ(f->Sync().sys_errno(), EIO);
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ(OnDisk(f->id()), "acknowledged");
}

TEST_F(UpperFileFaultTest, SyncMakesNewFilesAndSplicedBytesDurable) {
  auto f = NewFaultFile();
  ASSERT_TRUE(TryWrite(*f, "written ", 0).ok());
  {
    // What a spliced FUSE write does: straight into the descriptor.
    auto use = f->Acquire();
    ASSERT_TRUE(use.ok());
    ASSERT_EQ(::pwrite(use->fd(), "spliced", 7, 8), 7);
  }
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(TryWrite(*f, "-unsynced", 15).ok());
  auto never = NewFaultFile();
  ASSERT_TRUE(TryWrite(*never, "never synced", 0).ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ(OnDisk(f->id()), "written spliced");
  EXPECT_FALSE(stdfs::exists(Path(never->id())));
}

TEST_F(UpperFileFaultTest, TruncateFailureSurfaces) {
  auto f = NewFaultFile();
  ASSERT_TRUE(TryWrite(*f, "0123456789", 0).ok());
  env_.FailOperation("truncate", EIO);
  EXPECT_EQ(f->Truncate(3).sys_errno(), EIO);
  env_.FailOperation("", 0);
  ASSERT_TRUE(f->Truncate(3).ok());
  EXPECT_EQ(ReadAll(*f), "012");
}

}  // namespace
}  // namespace snapvol::fs
