// KernelIo (kernel_io.h).
#include "driver/fs/kernel_io.h"

namespace snapvol::fs {

KernelIo::Mode KernelIo::Decision::mode() const {
  switch (action) {
    case Action::kCached:
      return Mode::kCached;
    case Action::kPassthrough:
      return Mode::kPassthrough;
    case Action::kRefuse:
    case Action::kUntracked:
    case Action::kOpenBacking:
      break;
  }
  return Mode::kUntracked;
}

void KernelIo::Accept() {
  std::lock_guard<std::mutex> lock(mu_);
  if (accepted_) return;
  accepted_ = true;
  enabled_ = true;
}

void KernelIo::Disable() {
  std::lock_guard<std::mutex> lock(mu_);
  enabled_ = false;
  in_use_ = false;
}

bool KernelIo::accepted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return accepted_;
}

bool KernelIo::enabled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return enabled_;
}

bool KernelIo::in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_;
}

KernelIo::Decision KernelIo::Join(InodeIo& io, const Open& open) {
  Decision d;
  // Writers were refused (BeginChange); one that gets here created the file
  // while it was found open (CREATE racing a lookup).
  if (open.writable) {
    d.action = Action::kRefuse;
    return d;
  }
  // Every open of an inode that passes through must name the same backing
  // file; with any other mode the kernel fails the open.
  ++io.passthrough;
  d.action = Action::kPassthrough;
  d.backing_id = io.backing_id;
  d.direct = !open.key.has_value() || *open.key != io.key;
  return d;
}

KernelIo::Decision KernelIo::BeginOpen(Ino ino, const Open& open) {
  std::lock_guard<std::mutex> lock(mu_);
  Decision d;
  if (!accepted_) return d;
  // Counted even after Disable(): inodes still passed through keep getting
  // what the kernel requires.
  if (auto it = inodes_.find(ino); it != inodes_.end() && it->second.passthrough > 0) {
    return Join(it->second, open);
  }
  if (open.direct) return d;
  InodeIo& io = inodes_[ino];
  if (io.cached == 0 && io.changing == 0 && !open.writable && open.key.has_value() && enabled_) {
    ++io.opening;
    d.action = Action::kOpenBacking;
    d.ticket = io.changes;
    return d;
  }
  ++io.cached;
  d.action = Action::kCached;
  return d;
}

KernelIo::Decision KernelIo::FinishOpen(Ino ino, const Open& open, uint64_t ticket,
                                        int32_t backing_id) {
  std::lock_guard<std::mutex> lock(mu_);
  InodeIo& io = inodes_[ino];
  if (io.opening > 0) --io.opening;
  Decision d;
  if (io.passthrough > 0) {
    // Another open registered its copy meanwhile: use that one.
    d = Join(io, open);
    d.close_backing = backing_id;
    return d;
  }
  // A change that began (and perhaps ended) meanwhile may have changed the
  // bytes the copy holds; a cached handle must not be mixed with one.
  if (backing_id <= 0 || io.cached > 0 || io.changing > 0 || io.changes != ticket) {
    ++io.cached;
    d.action = Action::kCached;
    d.close_backing = backing_id > 0 ? backing_id : 0;
    return d;
  }
  io.passthrough = 1;
  io.backing_id = backing_id;
  io.key = *open.key;
  in_use_ = enabled_;
  d.action = Action::kPassthrough;
  d.backing_id = backing_id;
  d.new_backing = true;
  return d;
}

int32_t KernelIo::Release(Ino ino, Mode mode) {
  if (mode == Mode::kUntracked) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return 0;
  InodeIo& io = it->second;
  int32_t close = 0;
  if (mode == Mode::kCached) {
    if (io.cached > 0) --io.cached;
  } else if (io.passthrough > 0 && --io.passthrough == 0) {
    close = io.backing_id;
    io.backing_id = 0;
  }
  EraseIfIdle(ino);
  return close;
}

bool KernelIo::BeginChange(Ino ino) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!accepted_) return true;
  InodeIo& io = inodes_[ino];
  if (io.passthrough > 0) return false;
  ++io.changing;
  if (io.opening > 0) ++io.changes;
  return true;
}

void KernelIo::EndChange(Ino ino) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!accepted_) return;
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return;
  if (it->second.changing > 0) --it->second.changing;
  EraseIfIdle(ino);
}

void KernelIo::EraseIfIdle(Ino ino) {
  auto it = inodes_.find(ino);
  const InodeIo& io = it->second;
  if (io.cached == 0 && io.passthrough == 0 && io.changing == 0 && io.opening == 0) {
    inodes_.erase(it);
  }
}

bool KernelIo::ShouldFill(const core::Hash& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (asked_.count(key) != 0) return false;
  // Forgetting everything only costs one more look on disk per key.
  if (asked_.size() >= kFillMemo) asked_.clear();
  asked_.insert(key);
  return true;
}

void KernelIo::CopyMissing(const core::Hash& key) {
  std::lock_guard<std::mutex> lock(mu_);
  asked_.erase(key);
}

size_t KernelIo::tracked_inodes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return inodes_.size();
}

}  // namespace snapvol::fs
