// KernelIo, the per-inode kernel I/O state machine, event by event: every
// transition, the kernel's rules (an inode passing through is never opened
// cached and the reverse; direct-io opens; a failed backing open), changes,
// the fill memo, and the two-phase open that lets other opens be decided
// while one waits for its backing file.
#include "driver/fs/kernel_io.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace snapvol::fs {
namespace {

using Action = KernelIo::Action;
using Mode = KernelIo::Mode;

constexpr Ino kIno = 7;
constexpr Ino kOther = 8;

core::Hash Key(char c) { return core::Hash::Of(std::string(1, c)); }

KernelIo::Open Reader(char key = 'a') {
  KernelIo::Open o;
  o.key = Key(key);
  return o;
}
KernelIo::Open ReaderWithoutKey() { return KernelIo::Open(); }
KernelIo::Open Writer() {
  KernelIo::Open o;
  o.writable = true;
  o.key = Key('a');
  return o;
}
KernelIo::Open DirectWriter() {
  KernelIo::Open o = Writer();
  o.direct = true;
  return o;
}

// After INIT accepted passthrough.
class AcceptedKernelIoTest : public ::testing::Test {
 protected:
  AcceptedKernelIoTest() { io_.Accept(); }
  KernelIo io_;
};

// An open of kIno whose backing file registers as `id` (0: fails).
KernelIo::Decision OpenWithBacking(KernelIo& io, const KernelIo::Open& open, int32_t id,
                                   Ino ino = kIno) {
  KernelIo::Decision d = io.BeginOpen(ino, open);
  if (d.action != Action::kOpenBacking) return d;
  return io.FinishOpen(ino, open, d.ticket, id);
}

TEST(KernelIoTest, BeforeInitAcceptsPassthroughNothingIsCounted) {
  KernelIo io;
  EXPECT_FALSE(io.accepted());
  EXPECT_FALSE(io.enabled());
  EXPECT_FALSE(io.in_use());
  for (const KernelIo::Open& o : {Reader(), Writer(), DirectWriter(), ReaderWithoutKey()}) {
    KernelIo::Decision d = io.BeginOpen(kIno, o);
    EXPECT_EQ(d.action, Action::kUntracked);
    EXPECT_EQ(d.mode(), Mode::kUntracked);
  }
  EXPECT_TRUE(io.BeginChange(kIno));
  io.EndChange(kIno);
  EXPECT_EQ(io.Release(kIno, Mode::kUntracked), 0);
  EXPECT_EQ(io.tracked_inodes(), 0u);
}

TEST_F(AcceptedKernelIoTest, AcceptIsIdempotentAndEnables) {
  io_.Disable();
  io_.Accept();  // a second INIT does not turn a refused passthrough back on
  EXPECT_TRUE(io_.accepted());
  EXPECT_FALSE(io_.enabled());
}

TEST_F(AcceptedKernelIoTest, AReaderOfCommittedContentTriesABackingFile) {
  KernelIo::Decision d = io_.BeginOpen(kIno, Reader());
  EXPECT_EQ(d.action, Action::kOpenBacking);
  EXPECT_EQ(d.mode(), Mode::kUntracked);
  d = io_.FinishOpen(kIno, Reader(), d.ticket, 42);
  EXPECT_EQ(d.action, Action::kPassthrough);
  EXPECT_EQ(d.mode(), Mode::kPassthrough);
  EXPECT_EQ(d.backing_id, 42);
  EXPECT_FALSE(d.direct);
  EXPECT_TRUE(d.new_backing);
  EXPECT_EQ(d.close_backing, 0);
  EXPECT_TRUE(io_.in_use());
  // The last passed-through handle closes the backing id.
  EXPECT_EQ(io_.Release(kIno, Mode::kPassthrough), 42);
  EXPECT_EQ(io_.tracked_inodes(), 0u);
}

TEST_F(AcceptedKernelIoTest, AFailedBackingOpenMakesTheOpenCached) {
  KernelIo::Decision d = OpenWithBacking(io_, Reader(), 0);
  EXPECT_EQ(d.action, Action::kCached);
  EXPECT_EQ(d.close_backing, 0);
  EXPECT_FALSE(d.new_backing);
  EXPECT_FALSE(io_.in_use());
  // While that handle is open, no other open tries a backing file: the
  // kernel would fail a passed-through open beside a cached handle.
  EXPECT_EQ(io_.BeginOpen(kIno, Reader()).action, Action::kCached);
  EXPECT_EQ(io_.Release(kIno, Mode::kCached), 0);
  EXPECT_EQ(io_.Release(kIno, Mode::kCached), 0);
  EXPECT_EQ(io_.tracked_inodes(), 0u);
  // Once all are closed, the next open tries again.
  EXPECT_EQ(io_.BeginOpen(kIno, Reader()).action, Action::kOpenBacking);
}

TEST_F(AcceptedKernelIoTest, OpensWithoutCommittedContentAreCached) {
  EXPECT_EQ(io_.BeginOpen(kIno, ReaderWithoutKey()).action, Action::kCached);
  // ... and keep the next reader of committed content cached too.
  EXPECT_EQ(io_.BeginOpen(kIno, Reader()).action, Action::kCached);
}

TEST_F(AcceptedKernelIoTest, ReadersOfAnInodeThatPassesThroughJoinItsBackingFile) {
  ASSERT_EQ(OpenWithBacking(io_, Reader(), 5).action, Action::kPassthrough);
  // Same content: same backing id, no new registration.
  KernelIo::Decision same = io_.BeginOpen(kIno, Reader());
  EXPECT_EQ(same.action, Action::kPassthrough);
  EXPECT_EQ(same.backing_id, 5);
  EXPECT_FALSE(same.direct);
  EXPECT_FALSE(same.new_backing);
  // Other content (a reload changed it) or none: the same backing id, as a
  // direct handle whose reads go through the mount.
  for (const KernelIo::Open& o : {Reader('b'), ReaderWithoutKey()}) {
    KernelIo::Decision d = io_.BeginOpen(kIno, o);
    EXPECT_EQ(d.action, Action::kPassthrough);
    EXPECT_EQ(d.backing_id, 5);
    EXPECT_TRUE(d.direct);
  }
  // A direct-io open joins too (the kernel wants one mode per inode).
  KernelIo::Open direct_reader = Reader();
  direct_reader.direct = true;
  EXPECT_EQ(io_.BeginOpen(kIno, direct_reader).action, Action::kPassthrough);
  // Five handles: only the last release closes the id.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(io_.Release(kIno, Mode::kPassthrough), 0);
  EXPECT_EQ(io_.Release(kIno, Mode::kPassthrough), 5);
  EXPECT_EQ(io_.tracked_inodes(), 0u);
}

TEST_F(AcceptedKernelIoTest, AWriterOfAnInodeThatPassesThroughIsRefused) {
  ASSERT_EQ(OpenWithBacking(io_, Reader(), 5).action, Action::kPassthrough);
  // The writable open (or truncate) is refused before the view opens it...
  EXPECT_FALSE(io_.BeginChange(kIno));
  // ... and a CREATE that opened an existing file for writing is refused
  // when its I/O is chosen.
  KernelIo::Decision d = io_.BeginOpen(kIno, Writer());
  EXPECT_EQ(d.action, Action::kRefuse);
  EXPECT_EQ(io_.BeginOpen(kIno, DirectWriter()).action, Action::kRefuse);
  EXPECT_EQ(io_.Release(kIno, Mode::kPassthrough), 5);
  // Once the readers are gone, writing works.
  EXPECT_TRUE(io_.BeginChange(kIno));
}

TEST_F(AcceptedKernelIoTest, ACachedHandleKeepsNewOpensCached) {
  ASSERT_EQ(OpenWithBacking(io_, Reader(), 0).action, Action::kCached);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(io_.BeginOpen(kIno, Reader()).action, Action::kCached);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(io_.Release(kIno, Mode::kCached), 0);
  EXPECT_EQ(io_.tracked_inodes(), 0u);
}

TEST_F(AcceptedKernelIoTest, DirectIoOpensOfAnInodeNotPassingThroughAreUntracked) {
  KernelIo::Open direct_reader = Reader();
  direct_reader.direct = true;
  EXPECT_EQ(io_.BeginOpen(kIno, direct_reader).action, Action::kUntracked);
  EXPECT_EQ(io_.BeginOpen(kIno, DirectWriter()).action, Action::kUntracked);
  EXPECT_EQ(io_.tracked_inodes(), 0u);
  // They do not keep a later reader from passing through.
  EXPECT_EQ(OpenWithBacking(io_, Reader(), 3).action, Action::kPassthrough);
  EXPECT_EQ(io_.Release(kIno, Mode::kUntracked), 0);
  EXPECT_EQ(io_.Release(kIno, Mode::kPassthrough), 3);
}

TEST_F(AcceptedKernelIoTest, AChangeKeepsNewOpensCachedUntilItEnds) {
  ASSERT_TRUE(io_.BeginChange(kIno));                                // a writable open
  EXPECT_TRUE(io_.BeginChange(kIno));                                // and a truncate beside it
  EXPECT_EQ(io_.BeginOpen(kIno, Writer()).action, Action::kCached);  // the writer's handle
  EXPECT_EQ(io_.BeginOpen(kIno, Reader()).action, Action::kCached);
  io_.EndChange(kIno);
  EXPECT_EQ(io_.Release(kIno, Mode::kCached), 0);
  EXPECT_EQ(io_.Release(kIno, Mode::kCached), 0);
  io_.EndChange(kIno);
  EXPECT_EQ(io_.tracked_inodes(), 0u);
  EXPECT_EQ(io_.BeginOpen(kIno, Reader()).action, Action::kOpenBacking);
}

TEST_F(AcceptedKernelIoTest, AWriterNeverTriesABackingFile) {
  EXPECT_EQ(io_.BeginOpen(kIno, Writer()).action, Action::kCached);
}

TEST_F(AcceptedKernelIoTest, EndChangeWithoutBeginIsHarmless) {
  io_.EndChange(kIno);
  EXPECT_EQ(io_.Release(kIno, Mode::kCached), 0);
  EXPECT_EQ(io_.Release(kIno, Mode::kPassthrough), 0);
  EXPECT_EQ(io_.tracked_inodes(), 0u);
}

TEST_F(AcceptedKernelIoTest, InodesAreIndependent) {
  ASSERT_EQ(OpenWithBacking(io_, Reader(), 0).action, Action::kCached);
  EXPECT_EQ(OpenWithBacking(io_, Reader(), 9, kOther).action, Action::kPassthrough);
  EXPECT_FALSE(io_.BeginChange(kOther));
  EXPECT_TRUE(io_.BeginChange(kIno));
}

TEST_F(AcceptedKernelIoTest, DisableStopsNewBackingFilesButKeepsCounting) {
  ASSERT_EQ(OpenWithBacking(io_, Reader(), 4).action, Action::kPassthrough);
  io_.Disable();
  EXPECT_FALSE(io_.enabled());
  EXPECT_FALSE(io_.in_use());
  // The inode still passes through: new opens must still join it.
  EXPECT_EQ(io_.BeginOpen(kIno, Reader()).backing_id, 4);
  EXPECT_FALSE(io_.BeginChange(kIno));
  // Another inode is cached, not tried.
  EXPECT_EQ(io_.BeginOpen(kOther, Reader()).action, Action::kCached);
  EXPECT_EQ(io_.Release(kIno, Mode::kPassthrough), 0);
  EXPECT_EQ(io_.Release(kIno, Mode::kPassthrough), 4);
}

// Gap: io_mu was held across FileCache::Open, so a slow copy open held up
// every other open's decision. Now the open of the copy happens between
// BeginOpen and FinishOpen, with no lock held: this thread's open waits
// for its "copy" while other opens and changes are decided at once.
TEST_F(AcceptedKernelIoTest, OtherOpensAreDecidedWhileOneWaitsForItsBackingFile) {
  KernelIo::Decision first = io_.BeginOpen(kIno, Reader());
  ASSERT_EQ(first.action, Action::kOpenBacking);
  auto others = std::async(std::launch::async, [this] {
    KernelIo::Decision other_inode = io_.BeginOpen(kOther, ReaderWithoutKey());
    KernelIo::Decision same_inode = io_.BeginOpen(kIno, Reader());
    return other_inode.action == Action::kCached && same_inode.action == Action::kOpenBacking;
  });
  ASSERT_EQ(others.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(others.get());
  // Both opens of kIno registered a copy: the first to finish wins, the
  // other joins it and closes its own id.
  KernelIo::Decision a = io_.FinishOpen(kIno, Reader(), first.ticket, 11);
  EXPECT_EQ(a.action, Action::kPassthrough);
  EXPECT_EQ(a.backing_id, 11);
  KernelIo::Decision b = io_.FinishOpen(kIno, Reader(), first.ticket, 12);
  EXPECT_EQ(b.action, Action::kPassthrough);
  EXPECT_EQ(b.backing_id, 11);
  EXPECT_EQ(b.close_backing, 12);
  EXPECT_FALSE(b.new_backing);
}

TEST_F(AcceptedKernelIoTest, AFailedBackingOpenJoinsTheCopyAnotherOpenRegisteredMeanwhile) {
  KernelIo::Decision a = io_.BeginOpen(kIno, Reader());
  KernelIo::Decision b = io_.BeginOpen(kIno, Reader());
  ASSERT_EQ(b.action, Action::kOpenBacking);
  ASSERT_EQ(io_.FinishOpen(kIno, Reader(), a.ticket, 3).action, Action::kPassthrough);
  // b found no copy (or its registration failed): it must not be cached
  // beside a handle that passes through.
  KernelIo::Decision done = io_.FinishOpen(kIno, Reader(), b.ticket, 0);
  EXPECT_EQ(done.action, Action::kPassthrough);
  EXPECT_EQ(done.backing_id, 3);
  EXPECT_EQ(done.close_backing, 0);
  EXPECT_EQ(io_.Release(kIno, Mode::kPassthrough), 0);
  EXPECT_EQ(io_.Release(kIno, Mode::kPassthrough), 3);
}

TEST_F(AcceptedKernelIoTest, ADirectIoOpenWhileABackingFileIsOpenedIsUntracked) {
  KernelIo::Decision d = io_.BeginOpen(kIno, Reader());
  KernelIo::Open direct_reader = Reader();
  direct_reader.direct = true;
  EXPECT_EQ(io_.BeginOpen(kIno, direct_reader).action, Action::kUntracked);
  EXPECT_EQ(io_.FinishOpen(kIno, Reader(), d.ticket, 8).action, Action::kPassthrough);
}

// What may have changed the bytes, or put a page-cache handle on the inode,
// between BeginOpen and FinishOpen makes that open cached; the id it
// registered meanwhile is closed.
TEST(KernelIoTest, WhatComesWhileABackingFileIsOpenedKeepsThatOpenCached) {
  const std::vector<std::pair<std::string, std::function<void(KernelIo&)>>> meanwhile = {
      {"a truncate came and went",
       [](KernelIo& io) {
         ASSERT_TRUE(io.BeginChange(kIno));
         io.EndChange(kIno);
       }},
      {"a writer is still open", [](KernelIo& io) { ASSERT_TRUE(io.BeginChange(kIno)); }},
      {"a cached handle was opened",
       [](KernelIo& io) {
         ASSERT_EQ(io.BeginOpen(kIno, ReaderWithoutKey()).action, Action::kCached);
       }},
  };
  for (const auto& [what, event] : meanwhile) {
    SCOPED_TRACE(what);
    KernelIo io;
    io.Accept();
    KernelIo::Decision d = io.BeginOpen(kIno, Reader());
    ASSERT_EQ(d.action, Action::kOpenBacking);
    event(io);
    KernelIo::Decision done = io.FinishOpen(kIno, Reader(), d.ticket, 6);
    EXPECT_EQ(done.action, Action::kCached);
    EXPECT_EQ(done.close_backing, 6);
    EXPECT_FALSE(done.new_backing);
    EXPECT_FALSE(io.in_use());
  }
}

TEST_F(AcceptedKernelIoTest, AnInodeBeingOpenedIsKeptUntilFinishOpen) {
  KernelIo::Decision d = io_.BeginOpen(kIno, Reader());
  ASSERT_TRUE(io_.BeginChange(kIno));
  io_.EndChange(kIno);
  EXPECT_EQ(io_.tracked_inodes(), 1u);  // the change count must survive
  (void)io_.FinishOpen(kIno, Reader(), d.ticket, 0);
  EXPECT_EQ(io_.Release(kIno, Mode::kCached), 0);
  EXPECT_EQ(io_.tracked_inodes(), 0u);
}

TEST_F(AcceptedKernelIoTest, ABackingFileRegisteredAfterDisableIsNotInUse) {
  KernelIo::Decision d = io_.BeginOpen(kIno, Reader());
  io_.Disable();
  EXPECT_EQ(io_.FinishOpen(kIno, Reader(), d.ticket, 2).action, Action::kPassthrough);
  EXPECT_FALSE(io_.in_use());
}

// Gap: "passthrough on" came from INIT. It now means a backing file was
// registered and used.
TEST_F(AcceptedKernelIoTest, InUseOnlyOnceABackingFileIsUsed) {
  EXPECT_TRUE(io_.accepted());
  EXPECT_FALSE(io_.in_use());
  ASSERT_EQ(OpenWithBacking(io_, Reader(), 0).action, Action::kCached);
  EXPECT_FALSE(io_.in_use());
  EXPECT_EQ(io_.Release(kIno, Mode::kCached), 0);
  ASSERT_EQ(OpenWithBacking(io_, Reader(), 1).action, Action::kPassthrough);
  EXPECT_TRUE(io_.in_use());
  // It stays in use after the handle closed (it was used).
  EXPECT_EQ(io_.Release(kIno, Mode::kPassthrough), 1);
  EXPECT_TRUE(io_.in_use());
}

// Gap: EndIo asked the file cache (an access(2) each time) on every release
// until a copy existed. Now once per key until an open misses the copy.
TEST_F(AcceptedKernelIoTest, AFillIsAskedOncePerKeyUntilACopyIsMissing) {
  EXPECT_TRUE(io_.ShouldFill(Key('a')));
  EXPECT_FALSE(io_.ShouldFill(Key('a')));
  EXPECT_FALSE(io_.ShouldFill(Key('a')));
  EXPECT_TRUE(io_.ShouldFill(Key('b')));
  io_.CopyMissing(Key('a'));  // e.g. evicted
  EXPECT_TRUE(io_.ShouldFill(Key('a')));
  EXPECT_FALSE(io_.ShouldFill(Key('a')));
  EXPECT_FALSE(io_.ShouldFill(Key('b')));
}

TEST_F(AcceptedKernelIoTest, TheFillMemoIsBounded) {
  auto nth = [](size_t i) { return core::Hash::Of("key " + std::to_string(i)); };
  for (size_t i = 0; i < KernelIo::kFillMemo; ++i) ASSERT_TRUE(io_.ShouldFill(nth(i)));
  EXPECT_FALSE(io_.ShouldFill(nth(0)));   // still remembered
  EXPECT_TRUE(io_.ShouldFill(Key('z')));  // full: forgets all, then remembers z
  EXPECT_TRUE(io_.ShouldFill(nth(0)));
  EXPECT_FALSE(io_.ShouldFill(Key('z')));
}

}  // namespace
}  // namespace snapvol::fs
