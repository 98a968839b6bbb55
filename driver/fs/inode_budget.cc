#include "driver/fs/inode_budget.h"

#include <algorithm>
#include <string>

#include "driver/fs/posix_error.h"

namespace snapvol::fs {

core::Status InodeBudget::CheckRoom(uint64_t n) const {
  const int64_t now = static_cast<int64_t>(base_) + delta_;
  if (now + static_cast<int64_t>(n) > static_cast<int64_t>(limit_)) {
    return PosixError(ENOSPC, "volume inode limit of " + std::to_string(limit_) + " reached");
  }
  return core::Status::Ok();
}

uint64_t InodeBudget::used() const {
  return static_cast<uint64_t>(std::max<int64_t>(0, static_cast<int64_t>(base_) + delta_));
}

}  // namespace snapvol::fs
