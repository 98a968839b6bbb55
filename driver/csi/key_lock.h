// KeyLock: at most one operation per key (volume name, snapshot name, target
// path) at a time. A second operation on a busy key does not wait: the CSI
// spec answers "an operation for this volume is already pending" with
// ABORTED, and the CO retries with backoff. Thread-safe.
#pragma once

#include <mutex>
#include <set>
#include <string>

namespace snapvol::csi {

class KeyLock {
 public:
  // Holds a key until destroyed; empty (held() false) if the key was busy.
  class Guard {
   public:
    Guard() = default;
    Guard(KeyLock* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    Guard(Guard&& o) noexcept : owner_(o.owner_), key_(std::move(o.key_)) { o.owner_ = nullptr; }
    Guard& operator=(Guard&&) = delete;
    Guard(const Guard&) = delete;
    ~Guard() {
      if (owner_) owner_->Release(key_);
    }
    bool held() const { return owner_ != nullptr; }

   private:
    KeyLock* owner_ = nullptr;
    std::string key_;
  };

  Guard TryLock(const std::string& key) {
    std::lock_guard lock(mu_);
    if (!busy_.insert(key).second) return Guard();
    return Guard(this, key);
  }

 private:
  void Release(const std::string& key) {
    std::lock_guard lock(mu_);
    busy_.erase(key);
  }

  std::mutex mu_;
  std::set<std::string> busy_;  // guarded by mu_
};

}  // namespace snapvol::csi
