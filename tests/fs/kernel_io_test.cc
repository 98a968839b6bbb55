// KernelIo, the per-inode kernel I/O state machine, event by event: every
// transition, the kernel's rules (an inode passing through is never opened
// cached and the reverse; direct-io opens; a failed backing open), changes,
// the fill memo, and the two-phase open that lets other opens be decided
// while one waits for its backing file.
#include "driver/fs/kernel_io.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

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

TEST(KernelIoTest, AcceptIsIdempotentAndEnables) {
  KernelIo io;
  io.Accept();
  io.Disable();
  io.Accept();  // a second INIT does not turn a refused passthrough back on
  EXPECT_TRUE(io.accepted());
  EXPECT_FALSE(io.enabled());
}

TEST(KernelIoTest, AReaderOfCommittedContentTriesABackingFile) {
  KernelIo io;
  io.Accept();
  KernelIo::Decision d = io.BeginOpen(kIno, Reader());
  EXPECT_EQ(d.action, Action::kOpenBacking);
  EXPECT_EQ(d.mode(), Mode::kUntracked);
  d = io.FinishOpen(kIno, Reader(), d.ticket, 42);
  EXPECT_EQ(d.action, Action::kPassthrough);
  EXPECT_EQ(d.mode(), Mode::kPassthrough);
  EXPECT_EQ(d.backing_id, 42);
  EXPECT_FALSE(d.direct);
  EXPECT_TRUE(d.new_backing);
  EXPECT_EQ(d.close_backing, 0);
  EXPECT_TRUE(io.in_use());
  // The last passed-through handle closes the backing id.
  EXPECT_EQ(io.Release(kIno, Mode::kPassthrough), 42);
  EXPECT_EQ(io.tracked_inodes(), 0u);
}

TEST(KernelIoTest, AFailedBackingOpenMakesTheOpenCached) {
  KernelIo io;
  io.Accept();
  KernelIo::Decision d = OpenWithBacking(io, Reader(), 0);
  EXPECT_EQ(d.action, Action::kCached);
  EXPECT_EQ(d.close_backing, 0);
  EXPECT_FALSE(d.new_backing);
  EXPECT_FALSE(io.in_use());
  // While that handle is open, no other open tries a backing file: the
  // kernel would fail a passed-through open beside a cached handle.
  EXPECT_EQ(io.BeginOpen(kIno, Reader()).action, Action::kCached);
  EXPECT_EQ(io.Release(kIno, Mode::kCached), 0);
  EXPECT_EQ(io.Release(kIno, Mode::kCached), 0);
  EXPECT_EQ(io.tracked_inodes(), 0u);
  // Once all are closed, the next open tries again.
  EXPECT_EQ(io.BeginOpen(kIno, Reader()).action, Action::kOpenBacking);
}

TEST(KernelIoTest, OpensWithoutCommittedContentAreCached) {
  KernelIo io;
  io.Accept();
  EXPECT_EQ(io.BeginOpen(kIno, ReaderWithoutKey()).action, Action::kCached);
  // ... and keep the next reader of committed content cached too.
  EXPECT_EQ(io.BeginOpen(kIno, Reader()).action, Action::kCached);
}

TEST(KernelIoTest, ReadersOfAnInodeThatPassesThroughJoinItsBackingFile) {
  KernelIo io;
  io.Accept();
  ASSERT_EQ(OpenWithBacking(io, Reader(), 5).action, Action::kPassthrough);
  // Same content: same backing id, no new registration.
  KernelIo::Decision same = io.BeginOpen(kIno, Reader());
  EXPECT_EQ(same.action, Action::kPassthrough);
  EXPECT_EQ(same.backing_id, 5);
  EXPECT_FALSE(same.direct);
  EXPECT_FALSE(same.new_backing);
  // Other content (a reload changed it) or none: the same backing id, as a
  // direct handle whose reads go through the mount.
  for (const KernelIo::Open& o : {Reader('b'), ReaderWithoutKey()}) {
    KernelIo::Decision d = io.BeginOpen(kIno, o);
    EXPECT_EQ(d.action, Action::kPassthrough);
    EXPECT_EQ(d.backing_id, 5);
    EXPECT_TRUE(d.direct);
  }
  // A direct-io open joins too (the kernel wants one mode per inode).
  KernelIo::Open direct_reader = Reader();
  direct_reader.direct = true;
  EXPECT_EQ(io.BeginOpen(kIno, direct_reader).action, Action::kPassthrough);
  // Five handles: only the last release closes the id.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(io.Release(kIno, Mode::kPassthrough), 0);
  EXPECT_EQ(io.Release(kIno, Mode::kPassthrough), 5);
  EXPECT_EQ(io.tracked_inodes(), 0u);
}

TEST(KernelIoTest, AWriterOfAnInodeThatPassesThroughIsRefused) {
  KernelIo io;
  io.Accept();
  ASSERT_EQ(OpenWithBacking(io, Reader(), 5).action, Action::kPassthrough);
  // The writable open (or truncate) is refused before the view opens it...
  EXPECT_FALSE(io.BeginChange(kIno));
  // ... and a CREATE that opened an existing file for writing is refused
  // when its I/O is chosen.
  KernelIo::Decision d = io.BeginOpen(kIno, Writer());
  EXPECT_EQ(d.action, Action::kRefuse);
  EXPECT_EQ(io.BeginOpen(kIno, DirectWriter()).action, Action::kRefuse);
  EXPECT_EQ(io.Release(kIno, Mode::kPassthrough), 5);
  // Once the readers are gone, writing works.
  EXPECT_TRUE(io.BeginChange(kIno));
}

TEST(KernelIoTest, ACachedHandleKeepsNewOpensCached) {
  KernelIo io;
  io.Accept();
  ASSERT_EQ(OpenWithBacking(io, Reader(), 0).action, Action::kCached);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(io.BeginOpen(kIno, Reader()).action, Action::kCached);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(io.Release(kIno, Mode::kCached), 0);
  EXPECT_EQ(io.tracked_inodes(), 0u);
}

TEST(KernelIoTest, DirectIoOpensOfAnInodeNotPassingThroughAreUntracked) {
  KernelIo io;
  io.Accept();
  KernelIo::Open direct_reader = Reader();
  direct_reader.direct = true;
  EXPECT_EQ(io.BeginOpen(kIno, direct_reader).action, Action::kUntracked);
  EXPECT_EQ(io.BeginOpen(kIno, DirectWriter()).action, Action::kUntracked);
  EXPECT_EQ(io.tracked_inodes(), 0u);
  // They do not keep a later reader from passing through.
  EXPECT_EQ(OpenWithBacking(io, Reader(), 3).action, Action::kPassthrough);
  EXPECT_EQ(io.Release(kIno, Mode::kUntracked), 0);
  EXPECT_EQ(io.Release(kIno, Mode::kPassthrough), 3);
}

TEST(KernelIoTest, AChangeKeepsNewOpensCachedUntilItEnds) {
  KernelIo io;
  io.Accept();
  ASSERT_TRUE(io.BeginChange(kIno));                                // a writable open
  EXPECT_TRUE(io.BeginChange(kIno));                                // and a truncate beside it
  EXPECT_EQ(io.BeginOpen(kIno, Writer()).action, Action::kCached);  // the writer's handle
  EXPECT_EQ(io.BeginOpen(kIno, Reader()).action, Action::kCached);
  io.EndChange(kIno);
  EXPECT_EQ(io.Release(kIno, Mode::kCached), 0);
  EXPECT_EQ(io.Release(kIno, Mode::kCached), 0);
  io.EndChange(kIno);
  EXPECT_EQ(io.tracked_inodes(), 0u);
  EXPECT_EQ(io.BeginOpen(kIno, Reader()).action, Action::kOpenBacking);
}

TEST(KernelIoTest, AWriterNeverTriesABackingFile) {
  KernelIo io;
  io.Accept();
  EXPECT_EQ(io.BeginOpen(kIno, Writer()).action, Action::kCached);
}

TEST(KernelIoTest, EndChangeWithoutBeginIsHarmless) {
  KernelIo io;
  io.Accept();
  io.EndChange(kIno);
  EXPECT_EQ(io.Release(kIno, Mode::kCached), 0);
  EXPECT_EQ(io.Release(kIno, Mode::kPassthrough), 0);
  EXPECT_EQ(io.tracked_inodes(), 0u);
}

TEST(KernelIoTest, InodesAreIndependent) {
  KernelIo io;
  io.Accept();
  ASSERT_EQ(OpenWithBacking(io, Reader(), 0).action, Action::kCached);
  EXPECT_EQ(OpenWithBacking(io, Reader(), 9, kOther).action, Action::kPassthrough);
  EXPECT_FALSE(io.BeginChange(kOther));
  EXPECT_TRUE(io.BeginChange(kIno));
}

TEST(KernelIoTest, DisableStopsNewBackingFilesButKeepsCounting) {
  KernelIo io;
  io.Accept();
  ASSERT_EQ(OpenWithBacking(io, Reader(), 4).action, Action::kPassthrough);
  io.Disable();
  EXPECT_FALSE(io.enabled());
  EXPECT_FALSE(io.in_use());
  // The inode still passes through: new opens must still join it.
  EXPECT_EQ(io.BeginOpen(kIno, Reader()).backing_id, 4);
  EXPECT_FALSE(io.BeginChange(kIno));
  // Another inode is cached, not tried.
  EXPECT_EQ(io.BeginOpen(kOther, Reader()).action, Action::kCached);
  EXPECT_EQ(io.Release(kIno, Mode::kPassthrough), 0);
  EXPECT_EQ(io.Release(kIno, Mode::kPassthrough), 4);
}

// Gap: io_mu was held across FileCache::Open, so a slow copy open held up
// every other open's decision. Now the open of the copy happens between
// BeginOpen and FinishOpen, with no lock held: this thread's open waits
// for its "copy" while other opens and changes are decided at once.
TEST(KernelIoTest, OtherOpensAreDecidedWhileOneWaitsForItsBackingFile) {
  KernelIo io;
  io.Accept();
  KernelIo::Decision first = io.BeginOpen(kIno, Reader());
  ASSERT_EQ(first.action, Action::kOpenBacking);
  auto others = std::async(std::launch::async, [&io] {
    KernelIo::Decision other_inode = io.BeginOpen(kOther, ReaderWithoutKey());
    KernelIo::Decision same_inode = io.BeginOpen(kIno, Reader());
    return other_inode.action == Action::kCached && same_inode.action == Action::kOpenBacking;
  });
  ASSERT_EQ(others.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(others.get());
  // Both opens of kIno registered a copy: the first to finish wins, the
  // other joins it and closes its own id.
  KernelIo::Decision a = io.FinishOpen(kIno, Reader(), first.ticket, 11);
  EXPECT_EQ(a.action, Action::kPassthrough);
  EXPECT_EQ(a.backing_id, 11);
  KernelIo::Decision b = io.FinishOpen(kIno, Reader(), first.ticket, 12);
  EXPECT_EQ(b.action, Action::kPassthrough);
  EXPECT_EQ(b.backing_id, 11);
  EXPECT_EQ(b.close_backing, 12);
  EXPECT_FALSE(b.new_backing);
}

TEST(KernelIoTest, AFailedBackingOpenJoinsTheCopyAnotherOpenRegisteredMeanwhile) {
  KernelIo io;
  io.Accept();
  KernelIo::Decision a = io.BeginOpen(kIno, Reader());
  KernelIo::Decision b = io.BeginOpen(kIno, Reader());
  ASSERT_EQ(b.action, Action::kOpenBacking);
  ASSERT_EQ(io.FinishOpen(kIno, Reader(), a.ticket, 3).action, Action::kPassthrough);
  // b found no copy (or its registration failed): it must not be cached
  // beside a handle that passes through.
  KernelIo::Decision done = io.FinishOpen(kIno, Reader(), b.ticket, 0);
  EXPECT_EQ(done.action, Action::kPassthrough);
  EXPECT_EQ(done.backing_id, 3);
  EXPECT_EQ(done.close_backing, 0);
  EXPECT_EQ(io.Release(kIno, Mode::kPassthrough), 0);
  EXPECT_EQ(io.Release(kIno, Mode::kPassthrough), 3);
}

TEST(KernelIoTest, ADirectIoOpenWhileABackingFileIsOpenedIsUntracked) {
  KernelIo io;
  io.Accept();
  KernelIo::Decision d = io.BeginOpen(kIno, Reader());
  KernelIo::Open direct_reader = Reader();
  direct_reader.direct = true;
  EXPECT_EQ(io.BeginOpen(kIno, direct_reader).action, Action::kUntracked);
  EXPECT_EQ(io.FinishOpen(kIno, Reader(), d.ticket, 8).action, Action::kPassthrough);
}

TEST(KernelIoTest, AChangeWhileABackingFileIsOpenedKeepsThatOpenCached) {
  KernelIo io;
  io.Accept();
  KernelIo::Decision d = io.BeginOpen(kIno, Reader());
  ASSERT_EQ(d.action, Action::kOpenBacking);
  // A truncate comes and goes meanwhile: the copy may hold old bytes.
  ASSERT_TRUE(io.BeginChange(kIno));
  io.EndChange(kIno);
  KernelIo::Decision done = io.FinishOpen(kIno, Reader(), d.ticket, 6);
  EXPECT_EQ(done.action, Action::kCached);
  EXPECT_EQ(done.close_backing, 6);
  EXPECT_FALSE(io.in_use());
}

TEST(KernelIoTest, AWriterStillOpenWhenTheBackingFileIsReadyKeepsItCached) {
  KernelIo io;
  io.Accept();
  KernelIo::Decision d = io.BeginOpen(kIno, Reader());
  ASSERT_TRUE(io.BeginChange(kIno));
  KernelIo::Decision done = io.FinishOpen(kIno, Reader(), d.ticket, 6);
  EXPECT_EQ(done.action, Action::kCached);
  EXPECT_EQ(done.close_backing, 6);
}

TEST(KernelIoTest, ACachedOpenWhileABackingFileIsOpenedKeepsThatOpenCached) {
  KernelIo io;
  io.Accept();
  KernelIo::Decision d = io.BeginOpen(kIno, Reader());
  ASSERT_EQ(io.BeginOpen(kIno, ReaderWithoutKey()).action, Action::kCached);
  KernelIo::Decision done = io.FinishOpen(kIno, Reader(), d.ticket, 6);
  EXPECT_EQ(done.action, Action::kCached);
  EXPECT_EQ(done.close_backing, 6);
}

TEST(KernelIoTest, AnInodeBeingOpenedIsKeptUntilFinishOpen) {
  KernelIo io;
  io.Accept();
  KernelIo::Decision d = io.BeginOpen(kIno, Reader());
  ASSERT_TRUE(io.BeginChange(kIno));
  io.EndChange(kIno);
  EXPECT_EQ(io.tracked_inodes(), 1u);  // the change count must survive
  (void)io.FinishOpen(kIno, Reader(), d.ticket, 0);
  EXPECT_EQ(io.Release(kIno, Mode::kCached), 0);
  EXPECT_EQ(io.tracked_inodes(), 0u);
}

TEST(KernelIoTest, ABackingFileRegisteredAfterDisableIsNotInUse) {
  KernelIo io;
  io.Accept();
  KernelIo::Decision d = io.BeginOpen(kIno, Reader());
  io.Disable();
  EXPECT_EQ(io.FinishOpen(kIno, Reader(), d.ticket, 2).action, Action::kPassthrough);
  EXPECT_FALSE(io.in_use());
}

// Gap: "passthrough on" came from INIT. It now means a backing file was
// registered and used.
TEST(KernelIoTest, InUseOnlyOnceABackingFileIsUsed) {
  KernelIo io;
  io.Accept();
  EXPECT_TRUE(io.accepted());
  EXPECT_FALSE(io.in_use());
  ASSERT_EQ(OpenWithBacking(io, Reader(), 0).action, Action::kCached);
  EXPECT_FALSE(io.in_use());
  EXPECT_EQ(io.Release(kIno, Mode::kCached), 0);
  ASSERT_EQ(OpenWithBacking(io, Reader(), 1).action, Action::kPassthrough);
  EXPECT_TRUE(io.in_use());
  // It stays in use after the handle closed (it was used).
  EXPECT_EQ(io.Release(kIno, Mode::kPassthrough), 1);
  EXPECT_TRUE(io.in_use());
}

// Gap: EndIo asked the file cache (an access(2) each time) on every release
// until a copy existed. Now once per key until an open misses the copy.
TEST(KernelIoTest, AFillIsAskedOncePerKeyUntilACopyIsMissing) {
  KernelIo io;
  io.Accept();
  EXPECT_TRUE(io.ShouldFill(Key('a')));
  EXPECT_FALSE(io.ShouldFill(Key('a')));
  EXPECT_FALSE(io.ShouldFill(Key('a')));
  EXPECT_TRUE(io.ShouldFill(Key('b')));
  io.CopyMissing(Key('a'));  // e.g. evicted
  EXPECT_TRUE(io.ShouldFill(Key('a')));
  EXPECT_FALSE(io.ShouldFill(Key('a')));
  EXPECT_FALSE(io.ShouldFill(Key('b')));
}

TEST(KernelIoTest, TheFillMemoIsBounded) {
  KernelIo io;
  io.Accept();
  auto nth = [](size_t i) { return core::Hash::Of("key " + std::to_string(i)); };
  for (size_t i = 0; i < KernelIo::kFillMemo; ++i) ASSERT_TRUE(io.ShouldFill(nth(i)));
  EXPECT_FALSE(io.ShouldFill(nth(0)));   // still remembered
  EXPECT_TRUE(io.ShouldFill(Key('z')));  // full: forgets all, then remembers z
  EXPECT_TRUE(io.ShouldFill(nth(0)));
  EXPECT_FALSE(io.ShouldFill(Key('z')));
}

}  // namespace
}  // namespace snapvol::fs
