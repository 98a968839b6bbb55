// Access: the POSIX policy the mount enforces itself — permission bits,
// ownership rules of chmod/chown/utimens/truncate, the set-id bits a write
// or a chmod clears, the sticky rule, xattr namespaces. The mount does not
// use the kernel's `default_permissions`, because the in-mount control
// (setxattr user.snapvol.* on the root) must work for any user who can
// *read* the root (docs/mount.md "Permissions"); every other operation is
// checked here with the same rules the kernel would apply.
// Checks return OK or a Status carrying the errno POSIX wants
// (posix_error.h). Pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "driver/core/status.h"

namespace snapvol::fs {

inline constexpr int kMayRead = 4;
inline constexpr int kMayWrite = 2;
inline constexpr int kMayExec = 1;

// The caller of an operation. Supplementary groups and capabilities are
// fetched lazily (the FUSE layer reads them from /proc, which costs a
// syscall or more), and only when plain permission bits do not decide.
//
// Privilege follows the kernel: not "uid 0" but uid 0 holding the
// capability an override needs (CAP_DAC_OVERRIDE to bypass permission
// bits, CAP_FOWNER to act as an owner, ...), so a container's root that
// dropped its capabilities gets no more than its bits allow.
class Cred {
 public:
  Cred() = default;  // root with every capability (the mount's own work)
  // `caps` returns the caller's effective capability set (CapEff); without
  // it, uid 0 holds every capability.
  Cred(uint32_t uid, uint32_t gid, std::function<std::vector<uint32_t>()> groups = {},
       std::function<uint64_t()> caps = {})
      : uid_(uid), gid_(gid), groups_fn_(std::move(groups)), caps_fn_(std::move(caps)) {}
  uint32_t uid() const { return uid_; }
  uint32_t gid() const { return gid_; }
  // Whether `gid` is the caller's group or one of its supplementary groups.
  bool InGroup(uint32_t gid) const;
  // Whether the caller may use capability `cap` (CAP_* from
  // <linux/capability.h>) on the mount's files: uid 0 holding it. Host uid 0
  // only: a user namespace's root is another uid here.
  bool Capable(int cap) const;

 private:
  uint32_t uid_ = 0;
  uint32_t gid_ = 0;
  std::function<std::vector<uint32_t>()> groups_fn_;
  std::function<uint64_t()> caps_fn_;
  mutable std::optional<std::vector<uint32_t>> groups_;
  mutable std::optional<uint64_t> caps_;
};

// Whether `cred` may access an object with permission bits `mode` (07777),
// owner `uid`, group `gid` for `mask` (kMayRead | kMayWrite | kMayExec), as
// the kernel's generic_permission decides: the bits, else
// CAP_DAC_READ_SEARCH (read; read and search of directories), else
// CAP_DAC_OVERRIDE (anything but executing a non-directory with no x bit).
bool MayAccess(uint32_t mode, uint32_t uid, uint32_t gid, bool is_dir, const Cred& cred, int mask);

// Sticky-directory rule for removing or renaming a name: allowed if the
// directory is not sticky, or the caller owns the directory or the object,
// or holds CAP_FOWNER.
bool MayDeleteFromSticky(uint32_t dir_mode, uint32_t dir_uid, uint32_t obj_uid, const Cred& cred);

// What the rules look at of an object.
struct Object {
  uint32_t mode = 0;  // permission bits (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool is_dir = false;
  bool is_file = false;  // a regular file
};

// A name a directory entry may have: EINVAL for "", ".", "..", and names
// with '/' or NUL; ENAMETOOLONG beyond 255 bytes.
core::Status CheckName(const std::string& name);

// MayAccess as a check: EACCES.
core::Status CheckPermission(const Object& o, const Cred& cred, int mask);

// Whether `cred` may remove (unlink, rmdir, rename away or over) `obj`
// from `dir`: write and search permission on the directory (EACCES), and
// the sticky rule (EPERM).
core::Status CheckRemoval(const Object& dir, const Object& obj, const Cred& cred);

// An attribute change (setattr).
struct SetAttrIn {
  std::optional<uint32_t> mode;  // permission bits (07777)
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size;
  std::optional<int64_t> atime_ns;
  std::optional<int64_t> mtime_ns;
  bool atime_now = false;
  bool mtime_now = false;
  bool via_handle = false;  // ftruncate/futimens on an open descriptor
};

// Whether `cred` may make change `in` to `o` (Linux's notify_change rules):
// the owner (or CAP_FOWNER) changes the mode, and a non-owner with write
// permission only the kernel's clearing of set-id bits; CAP_CHOWN changes
// owners, the owner the group to one of its groups; truncation needs write
// permission (not through a handle); explicit times need ownership, "now"
// for both write permission. EPERM, EACCES, EISDIR, EINVAL.
core::Status CheckSetAttr(const Object& o, const SetAttrIn& in, const Cred& cred);

// The mode a chmod to `mode` leaves: set-gid is dropped unless the caller
// is in the file's group `gid` or holds CAP_FSETID.
uint32_t ModeAfterChmod(uint32_t mode, uint32_t gid, const Cred& cred);

// The mode a write or truncation by `cred` leaves (the kernel's
// file_remove_privs): set-uid cleared, set-gid too if group-executable;
// nullopt if unchanged (root with CAP_FSETID keeps them).
std::optional<uint32_t> ModeAfterWrite(uint32_t mode, const Cred& cred);

// Extended attributes: `user.` on files and directories (owner or write
// permission to change, read permission to read), `trusted.` for
// CAP_SYS_ADMIN only (unlisted and ENODATA for others), nothing else
// (EOPNOTSUPP to change, ENODATA to read).
core::Status CheckXattrChange(const Object& o, const std::string& name, const Cred& cred);
core::Status CheckXattrRead(const Object& o, const std::string& name, const Cred& cred);
bool XattrListed(const std::string& name, const Cred& cred);

}  // namespace snapvol::fs
