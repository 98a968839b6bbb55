// RequestReceiver (request_receiver.h).
#include "driver/fs/request_receiver.h"

#include <linux/fuse.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "driver/core/monotonic_clock.h"
#include "driver/fs/node.h"

namespace snapvol::fs {

RequestReceiver::RequestReceiver() : supervisor_([this] { Supervise(); }) {}

RequestReceiver::~RequestReceiver() {
  {
    std::lock_guard<std::mutex> l(sup_mu_);
    stop_ = true;
  }
  sup_cv_.notify_all();
  supervisor_.join();
  pthread_cond_destroy(&park_cv_);
  pthread_mutex_destroy(&park_mu_);
}

ssize_t RequestReceiver::Read(int fd, void* buf, size_t len) {
  if (!Primary() && !ParkOrClaim()) return ::read(fd, buf, len);
  busy_since_.store(0);
  ssize_t n = ::read(fd, buf, len);
  if (n < static_cast<ssize_t>(sizeof(fuse_in_header))) return n;
  busy_since_.store(core::MonotonicNanos());
  requests_.fetch_add(1);
  if (dormant_.load()) WakeSupervisor();
  if (MayTakeLong(buf, static_cast<size_t>(n))) SetHelpers(true);
  return n;
}

bool RequestReceiver::MayTakeLong(const void* request, size_t size) {
  if (size < sizeof(fuse_in_header)) return false;
  fuse_in_header in;
  std::memcpy(&in, request, sizeof(in));
  switch (in.opcode) {
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR:
      return true;
    case FUSE_SETXATTR:
    case FUSE_GETXATTR:
      return in.nodeid == kRootIno;  // the control attributes commit and reload
    default:
      return false;
  }
}

namespace {

// The receiver whose primary this thread is. The role ends with the thread
// (libfuse ends idle threads).
struct PrimaryRole {
  RequestReceiver* owner = nullptr;
  ~PrimaryRole() {
    if (owner != nullptr) owner->ReleasePrimary();
  }
};
thread_local PrimaryRole t_role;

}  // namespace

bool RequestReceiver::Primary() const { return t_role.owner == this; }

void RequestReceiver::ReleasePrimary() {
  pthread_mutex_lock(&park_mu_);
  primary_taken_ = false;
  pthread_cond_broadcast(&park_cv_);
  pthread_mutex_unlock(&park_mu_);
}

bool RequestReceiver::ParkOrClaim() {
  // Raw pthread calls: libfuse cancels its threads while they wait for a
  // request, and the forced unwind must not meet a noexcept frame.
  pthread_mutex_lock(&park_mu_);
  struct Unlock {
    pthread_mutex_t* m;
    ~Unlock() { pthread_mutex_unlock(m); }
  } unlock{&park_mu_};
  for (;;) {
    if (!primary_taken_ && t_role.owner == nullptr) {
      primary_taken_ = true;
      t_role.owner = this;
      return true;
    }
    if (helpers_.load()) return false;
    pthread_cond_wait(&park_cv_, &park_mu_);
  }
}

void RequestReceiver::SetHelpers(bool on) {
  if (helpers_.load() == on) return;
  pthread_mutex_lock(&park_mu_);
  helpers_.store(on);
  if (on) pthread_cond_broadcast(&park_cv_);
  pthread_mutex_unlock(&park_mu_);
}

void RequestReceiver::WakeSupervisor() {
  {
    std::lock_guard<std::mutex> l(sup_mu_);
    dormant_.store(false);
  }
  sup_cv_.notify_one();
}

void RequestReceiver::Supervise() {
  std::unique_lock<std::mutex> l(sup_mu_);
  uint64_t seen = requests_.load();
  int64_t last_request = core::MonotonicNanos();
  while (!stop_) {
    const int64_t now = core::MonotonicNanos();
    const int64_t since = busy_since_.load();
    if (since != 0 && now - since >= kStallNs) SetHelpers(true);
    if (since == 0) SetHelpers(false);
    if (const uint64_t r = requests_.load(); r != seen) {
      seen = r;
      last_request = now;
    }
    if (since == 0 && now - last_request >= kDormantNs) {
      dormant_.store(true);
      // Read() stores busy_since_ before it loads dormant_ (both seq_cst):
      // either it sees dormant_ and wakes us, or we see its request here.
      if (busy_since_.load() == 0 && requests_.load() == seen) {
        sup_cv_.wait(l, [this] { return stop_ || !dormant_.load(); });
      }
      dormant_.store(false);
      last_request = core::MonotonicNanos();
      continue;
    }
    sup_cv_.wait_for(l, std::chrono::nanoseconds(kStallNs));
  }
}

}  // namespace snapvol::fs
