// RequestReceiver: which of the FUSE loop's threads read requests from
// /dev/fuse. Installed as libfuse's custom read (fuse_session.cc); reads the
// raw request header only (linux/fuse.h), so it includes no libfuse header.
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

namespace snapvol::fs {

// How the FUSE loop's threads take requests from /dev/fuse (installed as
// libfuse's custom read).
//
// With libfuse's own loop every idle thread waits in read(2) and the kernel
// wakes the one that has waited longest, so a program doing small
// operations one after another (create, write, close, next create) has each
// request served by another thread, and the asynchronous RELEASE of one
// file and the LOOKUP of the next run on two threads at once. Measured on a
// 2-core paravirtualised VM: ~5 context switches of the server per created
// file instead of ~3 with one thread, and ~1.7x its CPU, most of it the
// hypervisor's work after each switch.
//
// So one thread (the primary: the first to call Read, until it ends) reads
// requests, and the other threads park in Read() until they are needed:
// when the primary took a request that may take long (fsync, the control
// attributes on the root, which commit and reload) or has been busy with
// one request for kStallNs. Then they read too, until the supervisor
// thread finds the primary waiting for a request again. The stall rule
// also frees a primary that waits in the kernel for a request only another
// thread can answer (a cache invalidation waiting for a page a reader has
// locked). The supervisor looks every kStallNs while requests arrive and
// sleeps after kDormantNs without one (the primary wakes it for the next).
// Set SNAPVOL_FUSE_PRIMARY=0 in the server's environment to compare with
// libfuse's own reads.
//
// Thread-safe. Threads parked in Read() may be cancelled (libfuse cancels
// its workers when the session ends). Destroy only after every thread that
// called Read() has ended.
class RequestReceiver {
 public:
  static constexpr int64_t kStallNs = 2'000'000;
  static constexpr int64_t kDormantNs = 1'000'000'000;

  RequestReceiver();
  ~RequestReceiver();
  RequestReceiver(const RequestReceiver&) = delete;
  RequestReceiver& operator=(const RequestReceiver&) = delete;

  // Reads one request from `fd` (a blocking /dev/fuse descriptor) into
  // `buf`, as read(2) does: the byte count, or -1 and errno.
  ssize_t Read(int fd, void* buf, size_t len);

  // Whether a request (a fuse_in_header and its arguments) wakes the
  // helpers at once.
  static bool MayTakeLong(const void* request, size_t size);

  // Gives the primary role up (its thread ends).
  void ReleasePrimary();

 private:
  // Whether this thread is the primary.
  bool Primary() const;
  // Waits until this thread became the primary (true; the role was free)
  // or helpers may read (false).
  bool ParkOrClaim();
  void SetHelpers(bool on);
  void WakeSupervisor();
  void Supervise();

  std::atomic<bool> helpers_{false};    // written under park_mu_
  std::atomic<int64_t> busy_since_{0};  // 0 while the primary waits for a request
  std::atomic<uint64_t> requests_{0};   // taken by the primary
  std::atomic<bool> dormant_{false};    // the supervisor sleeps; written under sup_mu_
  // Lock order: sup_mu_, then park_mu_.
  pthread_mutex_t park_mu_ = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t park_cv_ = PTHREAD_COND_INITIALIZER;
  bool primary_taken_ = false;  // guarded by park_mu_
  std::mutex sup_mu_;
  std::condition_variable sup_cv_;
  bool stop_ = false;  // guarded by sup_mu_
  std::thread supervisor_;
};

}  // namespace snapvol::fs
