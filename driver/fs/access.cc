#include "driver/fs/access.h"

#include <linux/capability.h>
#include <sys/stat.h>

#include <algorithm>

namespace snapvol::fs {

bool Cred::InGroup(uint32_t gid) const {
  if (gid == gid_) return true;
  if (!groups_fn_) return false;
  if (!groups_) groups_ = groups_fn_();
  return std::find(groups_->begin(), groups_->end(), gid) != groups_->end();
}

bool Cred::Capable(int cap) const {
  if (uid_ != 0) return false;
  if (!caps_fn_) return true;
  if (!caps_) caps_ = caps_fn_();
  return (*caps_ >> cap) & 1;
}

namespace {

bool BitsAllow(uint32_t mode, uint32_t uid, uint32_t gid, const Cred& cred, int mask) {
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

}  // namespace

bool MayAccess(uint32_t mode, uint32_t uid, uint32_t gid, bool is_dir, const Cred& cred, int mask) {
  mask &= 7;
  if (BitsAllow(mode, uid, gid, cred, mask)) return true;
  if (is_dir) {
    if ((mask & kMayWrite) == 0 && cred.Capable(CAP_DAC_READ_SEARCH)) return true;
    return cred.Capable(CAP_DAC_OVERRIDE);
  }
  if (mask == kMayRead && cred.Capable(CAP_DAC_READ_SEARCH)) return true;
  if ((mask & kMayExec) == 0 || (mode & 0111) != 0) return cred.Capable(CAP_DAC_OVERRIDE);
  return false;
}

bool MayDeleteFromSticky(uint32_t dir_mode, uint32_t dir_uid, uint32_t obj_uid, const Cred& cred) {
  if ((dir_mode & S_ISVTX) == 0) return true;
  return cred.uid() == dir_uid || cred.uid() == obj_uid || cred.Capable(CAP_FOWNER);
}

}  // namespace snapvol::fs
