// AsyncInvalidator: kernel entry invalidations that must wait until the
// current request has been answered — the entries directly under the root
// while a setxattr on the root holds the root's inode lock (delivering them
// then would deadlock the kernel). One thread delivers them, in order,
// through the callback the FUSE session gives it (fuse_session.cc), so
// this file includes no FUSE header.
//
// Thread-safe. The destructor delivers what is queued, then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "driver/fs/node.h"

namespace snapvol::fs {

class AsyncInvalidator {
 public:
  // Invalidates the entry `name` under `parent` in the kernel.
  using Deliver = std::function<void(Ino parent, const std::string& name)>;

  explicit AsyncInvalidator(Deliver deliver);
  ~AsyncInvalidator();
  AsyncInvalidator(const AsyncInvalidator&) = delete;
  AsyncInvalidator& operator=(const AsyncInvalidator&) = delete;

  // Queues entries; returns without waiting.
  void Add(std::vector<std::pair<Ino, std::string>> entries);
  // Waits until everything queued so far was delivered.
  void Drain();

 private:
  void Run();

  const Deliver deliver_;
  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<std::pair<Ino, std::string>> queue_;  // guarded by mu_
  bool busy_ = false;                              // guarded by mu_
  bool stop_ = false;                              // guarded by mu_
  std::thread thread_;                             // last: started after the members above
};

}  // namespace snapvol::fs
