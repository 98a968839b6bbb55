// InodeBudget: the volume's inode limit as a mount enforces it
// (docs/mount.md "Limits and errors"): the base snapshot's inode count plus
// the mount's local creates minus deletes. Creating past the limit is
// ENOSPC; statfs reports the limit as f_files and the room left as
// f_ffree. The engine enforces the limit again, exactly, when a commit
// lands.
//
// Thread-safety: guarded by View::mu_.
#pragma once

#include <cstdint>

#include "driver/core/status.h"

namespace snapvol::fs {

class InodeBudget {
 public:
  explicit InodeBudget(uint64_t limit) : limit_(limit) {}

  // A new base (attach, reload) with `base` inodes, and the pending creates
  // minus deletes the mount keeps on top of it.
  void Rebase(uint64_t base, int64_t pending_delta) {
    base_ = base;
    delta_ = pending_delta;
  }
  // ENOSPC unless `n` more inodes fit.
  core::Status CheckRoom(uint64_t n) const;
  void Created() { ++delta_; }
  void Removed() { --delta_; }

  uint64_t limit() const { return limit_; }
  uint64_t used() const;
  uint64_t free() const { return used() >= limit_ ? 0 : limit_ - used(); }

 private:
  const uint64_t limit_;
  uint64_t base_ = 0;
  int64_t delta_ = 0;  // local creates minus deletes since the base
};

}  // namespace snapvol::fs
