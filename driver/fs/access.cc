#include "driver/fs/access.h"

#include <linux/capability.h>
#include <sys/stat.h>

#include <algorithm>

#include "driver/fs/posix_error.h"

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

core::Status CheckName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    return PosixError(EINVAL, "invalid name '" + name + "'");
  }
  if (name.size() > 255) return PosixError(ENAMETOOLONG, "name longer than 255 bytes");
  return core::Status::Ok();
}

core::Status CheckRemoval(const Object& dir, const Object& obj, const Cred& cred) {
  RETURN_IF_ERROR(CheckPermission(dir, cred, kMayWrite | kMayExec));
  if (!MayDeleteFromSticky(dir.mode, dir.uid, obj.uid, cred)) {
    return PosixError(EPERM, "sticky directory");
  }
  return core::Status::Ok();
}

core::Status CheckPermission(const Object& o, const Cred& cred, int mask) {
  if (MayAccess(o.mode, o.uid, o.gid, o.is_dir, cred, mask)) return core::Status::Ok();
  return PosixError(EACCES, "permission denied");
}

core::Status CheckSetAttr(const Object& o, const SetAttrIn& in, const Cred& cred) {
  const bool owner = cred.uid() == o.uid || cred.Capable(CAP_FOWNER);
  // Without FUSE_CAP_HANDLE_KILLPRIV the kernel clears set-id bits itself
  // when a non-owner writes or truncates (file_remove_privs): that arrives
  // as a mode change, only clearing S_ISUID/S_ISGID, from the writer.
  constexpr uint32_t kSetId = S_ISUID | S_ISGID;
  const bool kill_priv = in.mode && !in.uid && !in.gid && o.is_file &&
                         (*in.mode & 07777) != o.mode && (*in.mode & 07777 & ~o.mode) == 0 &&
                         (*in.mode & ~kSetId) == (o.mode & ~kSetId);
  if (in.mode && !owner) {
    if (!kill_priv) return PosixError(EPERM, "only the owner may change the mode");
    RETURN_IF_ERROR(CheckPermission(o, cred, kMayWrite));
  }
  if (in.uid && !(cred.Capable(CAP_CHOWN) || (cred.uid() == o.uid && *in.uid == o.uid))) {
    return PosixError(EPERM, "only root may change the owner");
  }
  if (in.gid && !(cred.Capable(CAP_CHOWN) ||
                  (cred.uid() == o.uid && (*in.gid == o.gid || cred.InGroup(*in.gid))))) {
    return PosixError(EPERM, "may not change the group");
  }
  if (in.size) {
    if (o.is_dir) return PosixError(EISDIR, "is a directory");
    if (!o.is_file) return PosixError(EINVAL, "not a regular file");
    if (!in.via_handle) RETURN_IF_ERROR(CheckPermission(o, cred, kMayWrite));
  }
  // Linux lets a non-owner with write permission set only both times to
  // "now" (utimensat(NULL) or UTIME_NOW twice); one time alone is
  // utimensat with UTIME_OMIT, which needs ownership like explicit times.
  // truncate(2) sends the size with mtime "now".
  const bool set_atime = in.atime_ns || in.atime_now;
  const bool set_mtime = in.mtime_ns || in.mtime_now;
  const bool explicit_times = (in.atime_ns && !in.atime_now) || (in.mtime_ns && !in.mtime_now) ||
                              (set_atime != set_mtime && !in.size);
  if (explicit_times) {
    if (!owner) return PosixError(EPERM, "only the owner may set explicit times");
  } else if ((set_atime || set_mtime) && !owner && !(in.size && in.via_handle)) {
    RETURN_IF_ERROR(CheckPermission(o, cred, kMayWrite));
  }
  return core::Status::Ok();
}

uint32_t ModeAfterChmod(uint32_t mode, uint32_t gid, const Cred& cred) {
  mode &= 07777;
  // Only a set-gid bit asks for the caller's capabilities or groups (each
  // may read /proc): the common create and chmod pay nothing.
  if ((mode & S_ISGID) != 0 && !cred.Capable(CAP_FSETID) && !cred.InGroup(gid)) mode &= ~S_ISGID;
  return mode;
}

std::optional<uint32_t> ModeAfterWrite(uint32_t mode, const Cred& cred) {
  mode &= 07777;
  uint32_t kill = mode & S_ISUID;
  if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)) kill |= S_ISGID;
  if (kill == 0 || cred.Capable(CAP_FSETID)) return std::nullopt;
  return mode & ~kill;
}

namespace {

bool IsUserXattr(const std::string& name) { return name.rfind("user.", 0) == 0; }
bool IsTrustedXattr(const std::string& name) { return name.rfind("trusted.", 0) == 0; }

}  // namespace

core::Status CheckXattrChange(const Object& o, const std::string& name, const Cred& cred) {
  if (IsUserXattr(name)) {
    if (!o.is_file && !o.is_dir) {
      return PosixError(EPERM, "user xattrs only on files and directories");
    }
    if (cred.uid() != o.uid) RETURN_IF_ERROR(CheckPermission(o, cred, kMayWrite));
    return core::Status::Ok();
  }
  if (IsTrustedXattr(name)) {
    if (!cred.Capable(CAP_SYS_ADMIN)) return PosixError(EPERM, "trusted xattrs need CAP_SYS_ADMIN");
    return core::Status::Ok();
  }
  return PosixError(EOPNOTSUPP, "xattr namespace not supported");
}

core::Status CheckXattrRead(const Object& o, const std::string& name, const Cred& cred) {
  if (IsUserXattr(name)) {
    if (o.is_file || o.is_dir) RETURN_IF_ERROR(CheckPermission(o, cred, kMayRead));
    return core::Status::Ok();
  }
  if (IsTrustedXattr(name) && cred.Capable(CAP_SYS_ADMIN)) return core::Status::Ok();
  return PosixError(ENODATA, "no such xattr");
}

bool XattrListed(const std::string& name, const Cred& cred) {
  return !IsTrustedXattr(name) || cred.Capable(CAP_SYS_ADMIN);
}

}  // namespace snapvol::fs
