// RequestReceiver without a kernel: a SOCK_SEQPACKET socket pair stands in
// for /dev/fuse (one message per read, like a FUSE request), worker threads
// read from it the way libfuse's loop threads do.
#include "driver/fs/request_receiver.h"

#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "driver/fs/node.h"

namespace snapvol::fs {
namespace {

using std::chrono::milliseconds;

constexpr uint64_t kBlock = 1;  // fuse_in_header::padding: hold the worker until Unblock()
constexpr uint64_t kExit = 2;   // the worker thread ends after this request

// A socket pair and `n` workers serving requests through one receiver.
class Harness {
 public:
  explicit Harness(int n) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    dev_ = sv[0];
    kernel_ = sv[1];
    for (int i = 0; i < n; ++i) workers_.emplace_back([this, i] { Work(i); });
  }
  ~Harness() {
    Unblock();
    // The readers see end-of-file one after another: each that ends hands
    // the primary role on to a parked one.
    ::close(kernel_);
    for (std::thread& t : workers_) t.join();
    ::close(dev_);
  }

  // Sends request `unique` and returns without waiting.
  void Send(uint64_t unique, uint32_t opcode = FUSE_LOOKUP, uint64_t nodeid = 5,
            uint32_t flags = 0) {
    fuse_in_header in;
    std::memset(&in, 0, sizeof(in));
    in.len = sizeof(in);
    in.opcode = opcode;
    in.unique = unique;
    in.nodeid = nodeid;
    in.padding = flags;
    ASSERT_EQ(::send(kernel_, &in, sizeof(in), 0), static_cast<ssize_t>(sizeof(in)));
  }
  // Waits until request `unique` was taken; the worker that took it, or -1.
  int WaitTaken(uint64_t unique, milliseconds timeout = milliseconds(5000)) {
    std::unique_lock<std::mutex> l(mu_);
    if (!cv_.wait_for(l, timeout, [&] { return taken_.count(unique) != 0; })) return -1;
    return taken_[unique];
  }
  // Waits until request `unique` was answered.
  bool WaitDone(uint64_t unique) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, milliseconds(5000), [&] { return done_.count(unique) != 0; });
  }
  void Unblock() {
    std::lock_guard<std::mutex> l(mu_);
    blocked_ = false;
    cv_.notify_all();
  }

 private:
  void Work(int id) {
    char buf[256];
    for (;;) {
      ssize_t n = receiver_.Read(dev_, buf, sizeof(buf));
      if (n <= 0) return;
      fuse_in_header in;
      std::memcpy(&in, buf, sizeof(in));
      std::unique_lock<std::mutex> l(mu_);
      taken_[in.unique] = id;
      cv_.notify_all();
      if (in.padding & kBlock) cv_.wait(l, [this] { return !blocked_; });
      done_[in.unique] = true;
      cv_.notify_all();
      if (in.padding & kExit) return;
    }
  }

  RequestReceiver receiver_;  // outlives the workers (joined first)
  int dev_ = -1;
  int kernel_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, int> taken_;  // guarded by mu_
  std::map<uint64_t, bool> done_;  // guarded by mu_
  bool blocked_ = true;            // guarded by mu_
  std::vector<std::thread> workers_;
};

// Sends requests `first`..`last` one after another, each after the last
// one is done; `*most` = how many of them the busiest worker took.
void MostOnOneWorker(Harness& h, uint64_t first, uint64_t last, int* most) {
  std::map<int, int> by_worker;
  for (uint64_t u = first; u <= last; ++u) {
    h.Send(u);
    int w = h.WaitTaken(u);
    ASSERT_GE(w, 0);
    ASSERT_TRUE(h.WaitDone(u));
    ++by_worker[w];
  }
  for (const auto& [w, n] : by_worker) *most = std::max(*most, n);
}

// The point of the receiver: requests that come one after another are all
// served by one thread, not passed around the pool.
TEST(RequestReceiverTest, RequestsOneAfterAnotherAreServedByOneThread) {
  Harness h(4);
  // A primary preempted for kStallNs on a loaded machine brings the
  // helpers in; each then takes at most one request.
  int most = 0;
  ASSERT_NO_FATAL_FAILURE(MostOnOneWorker(h, 1, 200, &most));
  EXPECT_GE(most, 200 - 3);
}

// A primary stuck in one request (a slow fetch, or waiting in the kernel
// for something only another request can finish) does not stop the rest.
TEST(RequestReceiverTest, AStuckPrimaryGetsHelp) {
  Harness h(3);
  h.Send(1, FUSE_LOOKUP, 5, kBlock);
  const int stuck = h.WaitTaken(1);
  ASSERT_GE(stuck, 0);
  for (uint64_t u = 2; u <= 4; ++u) {
    h.Send(u);
    const int w = h.WaitTaken(u);
    ASSERT_GE(w, 0) << "request " << u << " was not taken while the primary is stuck";
    EXPECT_NE(w, stuck);
    EXPECT_TRUE(h.WaitDone(u));
  }
  h.Unblock();
  EXPECT_TRUE(h.WaitDone(1));
  // Back to one thread once the primary waits again.
  std::this_thread::sleep_for(milliseconds(20));
  // Each helper still waiting in read(2) takes at most one more request.
  int most = 0;
  ASSERT_NO_FATAL_FAILURE(MostOnOneWorker(h, 10, 39, &most));
  EXPECT_GE(most, 30 - 3);
}

// A request that may take long (here a commit through the root's control
// attribute) lets the helpers read at once (WhichRequestsMayTakeLong); the
// others are served meanwhile.
TEST(RequestReceiverTest, OthersAreServedDuringAControlRequest) {
  Harness h(3);
  h.Send(1, FUSE_SETXATTR, kRootIno, kBlock);
  const int busy = h.WaitTaken(1);
  ASSERT_GE(busy, 0);
  h.Send(2);
  const int w = h.WaitTaken(2);
  ASSERT_GE(w, 0);
  EXPECT_NE(w, busy);
  EXPECT_TRUE(h.WaitDone(2));
  h.Unblock();
  EXPECT_TRUE(h.WaitDone(1));
}

TEST(RequestReceiverTest, WhichRequestsMayTakeLong) {
  auto header = [](uint32_t opcode, uint64_t nodeid) {
    fuse_in_header in;
    std::memset(&in, 0, sizeof(in));
    in.opcode = opcode;
    in.nodeid = nodeid;
    return in;
  };
  auto may = [](const fuse_in_header& in) { return RequestReceiver::MayTakeLong(&in, sizeof(in)); };
  EXPECT_TRUE(may(header(FUSE_FSYNC, 7)));
  EXPECT_TRUE(may(header(FUSE_FSYNCDIR, kRootIno)));
  EXPECT_TRUE(may(header(FUSE_SETXATTR, kRootIno)));
  EXPECT_TRUE(may(header(FUSE_GETXATTR, kRootIno)));
  EXPECT_FALSE(may(header(FUSE_SETXATTR, 7)));
  EXPECT_FALSE(may(header(FUSE_GETXATTR, 7)));
  EXPECT_FALSE(may(header(FUSE_LOOKUP, kRootIno)));
  EXPECT_FALSE(may(header(FUSE_CREATE, 7)));
  EXPECT_FALSE(may(header(FUSE_WRITE, 7)));
  fuse_in_header in = header(FUSE_FSYNC, 7);
  EXPECT_FALSE(RequestReceiver::MayTakeLong(&in, sizeof(in) - 1));
}

// libfuse ends idle threads; when the primary's thread ends, a parked
// thread takes over instead of everyone waiting for helpers.
TEST(RequestReceiverTest, ThePrimaryRoleMovesOnWhenItsThreadEnds) {
  Harness h(3);
  h.Send(1, FUSE_LOOKUP, 5, kExit);
  const int first = h.WaitTaken(1);
  ASSERT_GE(first, 0);
  ASSERT_TRUE(h.WaitDone(1));
  std::this_thread::sleep_for(milliseconds(20));
  std::map<int, int> by_worker;
  for (uint64_t u = 2; u <= 30; ++u) {
    h.Send(u);
    int w = h.WaitTaken(u, milliseconds(1000));
    ASSERT_GE(w, 0) << "request " << u << " was not taken";
    ASSERT_TRUE(h.WaitDone(u));
    EXPECT_NE(w, first);
    ++by_worker[w];
  }
  // As above: a primary preempted for kStallNs lets each helper take one.
  int most = 0;
  for (const auto& [w, n] : by_worker) most = std::max(most, n);
  EXPECT_GE(most, 29 - 3);
}

}  // namespace
}  // namespace snapvol::fs
