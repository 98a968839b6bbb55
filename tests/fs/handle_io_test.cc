// HandleIo over a real FileCache (copies in the build tree: they carry a
// user xattr) with a stand-in for the kernel's backing-file registry.
#include "driver/fs/handle_io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "driver/core/env.h"
#include "driver/store/local/local_object_store.h"

namespace snapvol::fs {
namespace {

// Hands out ids 1, 2, ... or fails with `fail_errno`; can hold Open until
// Unblock().
class FakeBackingFiles : public BackingFiles {
 public:
  FakeBackingFiles() : BackingFiles(-1) {}
  core::Result<int32_t> Open(int fd) override {
    std::unique_lock<std::mutex> l(mu_);
    ++opens;
    entered_.notify_all();
    cv_.wait(l, [this] { return !blocked_; });
    if (fail_errno != 0) return core::Status::FromErrno(fail_errno, "fake");
    return ++next_;
  }
  void Close(int32_t id) override {
    std::lock_guard<std::mutex> l(mu_);
    closed.push_back(id);
  }
  void Block() {
    std::lock_guard<std::mutex> l(mu_);
    blocked_ = true;
  }
  bool WaitEntered(int n) {
    std::unique_lock<std::mutex> l(mu_);
    return entered_.wait_for(l, std::chrono::seconds(10), [&] { return opens >= n; });
  }
  void Unblock() {
    std::lock_guard<std::mutex> l(mu_);
    blocked_ = false;
    cv_.notify_all();
  }

  int fail_errno = 0;
  int opens = 0;                // guarded by mu_ once threads run
  std::vector<int32_t> closed;  // guarded by mu_

 private:
  std::mutex mu_;
  std::condition_variable cv_, entered_;
  bool blocked_ = false;
  int32_t next_ = 0;
};

constexpr Ino kIno = 10;
constexpr Ino kOther = 11;

// A View handle and the FUSE layer's record of it, as fuse_ops keeps them.
struct File : OpenFile {
  Handle view;
  File() { handle = &view; }
  File(File&& other) noexcept : OpenFile(other), view(std::move(other.view)) { handle = &view; }
  File& operator=(File&&) = delete;
};

class HandleIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::current_path() /
           ("handle_io_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = store::LocalObjectStore::Open((dir_ / "store").string(), core::Env::Default());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    objects_ = std::move(*s);
    chunks_ = std::make_unique<ChunkCache>(objects_.get(), 64, 64 << 20);
    files_ = std::make_unique<FileCache>((dir_ / "files").string(), 1 << 30, chunks_.get());
    HandleIo::Notes notes;
    notes.passthrough = [this](bool on) { in_use_ = on; };
    notes.passthrough_open = [this] { ++passthrough_opens_; };
    handles_ = std::make_unique<HandleIo>(&io_, files_.get(), &backing_, std::move(notes));
    layout_ = Layout(2 << 20);
  }
  void TearDown() override {
    handles_.reset();
    files_.reset();
    chunks_.reset();
    objects_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::shared_ptr<const FileLayout> Layout(size_t size) {
    objects::Content content;
    const std::string data(size, 'x');
    objects::ChunkRef* ref = content.add_chunks();
    auto h = objects_->PutContent(store::ObjectKind::kChunk, data);
    EXPECT_TRUE(h.ok());
    ref->set_hash(std::string(h->Bytes()));
    ref->set_size(data.size());
    EXPECT_TRUE(objects_->Flush().ok());
    auto layout = FileLayout::Load(objects_.get(), content, data.size());
    EXPECT_TRUE(layout.ok()) << layout.status().ToString();
    return *layout;
  }

  // A read-only handle of the committed file.
  File Reader() {
    File f;
    f.view.layout = layout_;
    return f;
  }

  // Opens, reads the whole file, releases: the cache is asked for a copy.
  void ReadOnce(Ino ino = kIno) {
    File h = Reader();
    handles_->Open(ino, false, &h);
    layout_->NoteRead(layout_->size());
    handles_->Release(ino, &h);
    files_->Drain();
  }

  std::string CopyPath() const { return files_->PathOf(layout_->content_key()); }

  std::filesystem::path dir_;
  std::unique_ptr<store::ObjectStore> objects_;
  std::unique_ptr<ChunkCache> chunks_;
  std::unique_ptr<FileCache> files_;
  KernelIo io_;
  FakeBackingFiles backing_;
  std::atomic<bool> in_use_{false};
  std::atomic<int> passthrough_opens_{0};
  std::unique_ptr<HandleIo> handles_;
  std::shared_ptr<const FileLayout> layout_;
};

TEST_F(HandleIoTest, BeforeInitAcceptsPassthroughHandlesAreUntracked) {
  File h = Reader();
  HandleIo::Reply r = handles_->Open(kIno, false, &h);
  EXPECT_FALSE(r.refuse);
  EXPECT_EQ(r.backing_id, 0);
  EXPECT_EQ(h.mode, KernelIo::Mode::kUntracked);
  layout_->NoteRead(layout_->size());
  handles_->Release(kIno, &h);
  files_->Drain();
  EXPECT_EQ(files_->stats().fills, 0u);
  EXPECT_EQ(backing_.opens, 0);
}

TEST_F(HandleIoTest, AFileReadThroughTheMountIsCopiedThenPassesThrough) {
  io_.Accept();
  File first = Reader();
  HandleIo::Reply r = handles_->Open(kIno, false, &first);
  EXPECT_EQ(r.backing_id, 0);
  EXPECT_EQ(first.mode, KernelIo::Mode::kCached);
  layout_->NoteRead(layout_->size());
  handles_->Release(kIno, &first);
  EXPECT_EQ(first.mode, KernelIo::Mode::kUntracked);
  files_->Drain();
  ASSERT_EQ(files_->stats().fills, 1u);
  EXPECT_FALSE(in_use_);

  File a = Reader(), b = Reader();
  r = handles_->Open(kIno, false, &a);
  EXPECT_EQ(r.backing_id, 1);
  EXPECT_TRUE(r.no_keep_cache);
  EXPECT_FALSE(r.direct_io);
  EXPECT_EQ(a.mode, KernelIo::Mode::kPassthrough);
  EXPECT_TRUE(in_use_);
  EXPECT_EQ(handles_->Open(kIno, false, &b).backing_id, 1);  // joins, no new registration
  EXPECT_EQ(backing_.opens, 1);
  EXPECT_EQ(passthrough_opens_, 2);
  // Other content on the same inode (a reload): the same id, direct.
  File other;
  other.view.layout = Layout(3 << 20);
  r = handles_->Open(kIno, false, &other);
  EXPECT_EQ(r.backing_id, 1);
  EXPECT_TRUE(r.direct_io);
  EXPECT_TRUE(other.direct);
  EXPECT_EQ(passthrough_opens_, 2);
  // A writer is refused and left as it was.
  File writer = Reader();
  writer.view.writable = true;
  EXPECT_TRUE(handles_->Open(kIno, false, &writer).refuse);
  EXPECT_EQ(writer.mode, KernelIo::Mode::kUntracked);
  handles_->Release(kIno, &a);
  handles_->Release(kIno, &other);
  EXPECT_TRUE(backing_.closed.empty());
  handles_->Release(kIno, &b);
  EXPECT_EQ(backing_.closed, std::vector<int32_t>{1});
}

TEST_F(HandleIoTest, ARegistrationRefusedForGoodTurnsPassthroughOff) {
  io_.Accept();
  ReadOnce();
  backing_.fail_errno = EPERM;
  File h = Reader();
  HandleIo::Reply r = handles_->Open(kIno, false, &h);
  EXPECT_EQ(r.backing_id, 0);
  EXPECT_EQ(h.mode, KernelIo::Mode::kCached);
  EXPECT_FALSE(io_.enabled());
  EXPECT_FALSE(in_use_);
  handles_->Release(kIno, &h);
  // No more tries.
  File again = Reader();
  handles_->Open(kIno, false, &again);
  EXPECT_EQ(backing_.opens, 1);
  handles_->Release(kIno, &again);
}

TEST_F(HandleIoTest, ARegistrationThatMayPassFailsThisOpenOnly) {
  io_.Accept();
  ReadOnce();
  backing_.fail_errno = ENOMEM;
  File h = Reader();
  EXPECT_EQ(handles_->Open(kIno, false, &h).backing_id, 0);
  EXPECT_EQ(h.mode, KernelIo::Mode::kCached);
  EXPECT_TRUE(io_.enabled());
  handles_->Release(kIno, &h);
  backing_.fail_errno = 0;
  File next = Reader();
  EXPECT_EQ(handles_->Open(kIno, false, &next).backing_id, 1);
  handles_->Release(kIno, &next);
}

TEST_F(HandleIoTest, DirectIoAndWritableHandlesNeverTryACopy) {
  io_.Accept();
  ReadOnce();
  File direct = Reader();
  EXPECT_EQ(handles_->Open(kIno, true, &direct).backing_id, 0);
  EXPECT_EQ(direct.mode, KernelIo::Mode::kUntracked);
  File writer = Reader();
  writer.view.writable = true;
  EXPECT_EQ(handles_->Open(kOther, false, &writer).backing_id, 0);
  EXPECT_EQ(writer.mode, KernelIo::Mode::kCached);
  EXPECT_EQ(backing_.opens, 0);
}

// Gap: EndIo asked the file cache on every release (an access(2) each)
// until a copy existed. Now a release asks once per content until an open
// finds no copy. Seen here through a copy removed underneath: asking again
// would make a second copy.
TEST_F(HandleIoTest, ReleasesAskForACopyOncePerContentUntilAnOpenMissesIt) {
  io_.Accept();
  File keeper = Reader();  // keeps the inode on the page cache
  handles_->Open(kIno, false, &keeper);
  ReadOnce();  // asks: the first copy
  ASSERT_EQ(files_->stats().fills, 1u);
  ASSERT_EQ(::unlink(CopyPath().c_str()), 0);
  for (int i = 0; i < 3; ++i) ReadOnce();  // cached beside `keeper`: not asked again
  EXPECT_EQ(files_->stats().fills, 1u);
  handles_->Release(kIno, &keeper);
  // The next open looks for the copy, misses it, and so the release asks.
  ReadOnce();
  EXPECT_EQ(files_->stats().fills, 2u);
}

// Gap: io_mu was held across FileCache::Open and the registration, so one
// slow open held up every other open's I/O decision.
TEST_F(HandleIoTest, AnOpenWaitingForItsBackingFileHoldsUpNoOtherOpen) {
  io_.Accept();
  ReadOnce();
  backing_.Block();
  auto slow = std::async(std::launch::async, [this] {
    File h = Reader();
    const int32_t id = handles_->Open(kIno, false, &h).backing_id;
    handles_->Release(kIno, &h);
    return id;
  });
  ASSERT_TRUE(backing_.WaitEntered(1));
  auto other = std::async(std::launch::async, [this] {
    File h;  // no committed content: decided without a copy
    handles_->Open(kOther, false, &h);
    const bool cached = h.mode == KernelIo::Mode::kCached;
    handles_->Release(kOther, &h);
    return cached;
  });
  const bool decided = other.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  backing_.Unblock();
  EXPECT_TRUE(decided);
  EXPECT_TRUE(other.get());
  EXPECT_EQ(slow.get(), 1);
}

}  // namespace
}  // namespace snapvol::fs
