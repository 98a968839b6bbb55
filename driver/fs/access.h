// Access: the POSIX permission rules the mount enforces itself. The mount
// does not use the kernel's `default_permissions`, because the in-mount
// control (setxattr user.snapvol.* on the root) must work for any user who
// can *read* the root (docs/mount.md "Permissions"); every other operation
// is checked here with the same rules the kernel would apply.
// Pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace snapvol::fs {

inline constexpr int kMayRead = 4;
inline constexpr int kMayWrite = 2;
inline constexpr int kMayExec = 1;

// The caller of an operation. Supplementary groups are fetched lazily (the
// FUSE layer reads them from /proc, which costs a syscall or more).
class Cred {
 public:
  Cred() = default;  // root
  Cred(uint32_t uid, uint32_t gid, std::function<std::vector<uint32_t>()> groups = {})
      : uid_(uid), gid_(gid), groups_fn_(std::move(groups)) {}
  uint32_t uid() const { return uid_; }
  uint32_t gid() const { return gid_; }
  bool root() const { return uid_ == 0; }
  // Whether `gid` is the caller's group or one of its supplementary groups.
  bool InGroup(uint32_t gid) const;

 private:
  uint32_t uid_ = 0;
  uint32_t gid_ = 0;
  std::function<std::vector<uint32_t>()> groups_fn_;
  mutable std::optional<std::vector<uint32_t>> groups_;
};

// Whether `cred` may access an object with permission bits `mode` (07777),
// owner `uid`, group `gid` for `mask` (kMayRead | kMayWrite | kMayExec).
// Root may do anything except execute a non-directory with no x bit.
bool MayAccess(uint32_t mode, uint32_t uid, uint32_t gid, bool is_dir, const Cred& cred, int mask);

// Sticky-directory rule for removing or renaming a name: allowed if the
// directory is not sticky, or the caller is root or owns the directory or
// the object.
bool MayDeleteFromSticky(uint32_t dir_mode, uint32_t dir_uid, uint32_t obj_uid, const Cred& cred);

}  // namespace snapvol::fs
