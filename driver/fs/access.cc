#include "driver/fs/access.h"

#include <sys/stat.h>

#include <algorithm>

namespace snapvol::fs {

bool Cred::InGroup(uint32_t gid) const {
  if (gid == gid_) return true;
  if (!groups_fn_) return false;
  if (!groups_) groups_ = groups_fn_();
  return std::find(groups_->begin(), groups_->end(), gid) != groups_->end();
}

bool MayAccess(uint32_t mode, uint32_t uid, uint32_t gid, bool is_dir, const Cred& cred, int mask) {
  mask &= 7;
  if (cred.root()) {
    if ((mask & kMayExec) && !is_dir && (mode & 0111) == 0) return false;
    return true;
  }
  uint32_t bits;
  if (cred.uid() == uid) {
    bits = (mode >> 6) & 7;
  } else if (cred.InGroup(gid)) {
    bits = (mode >> 3) & 7;
  } else {
    bits = mode & 7;
  }
  return (bits & static_cast<uint32_t>(mask)) == static_cast<uint32_t>(mask);
}

bool MayDeleteFromSticky(uint32_t dir_mode, uint32_t dir_uid, uint32_t obj_uid, const Cred& cred) {
  if ((dir_mode & S_ISVTX) == 0) return true;
  return cred.root() || cred.uid() == dir_uid || cred.uid() == obj_uid;
}

}  // namespace snapvol::fs
