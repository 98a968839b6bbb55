// ControlAttrs (control_attrs.h).
#include "driver/fs/control_attrs.h"

#include <cerrno>
#include <utility>

#include "driver/fs/control_json.h"
#include "driver/fs/mount.h"

namespace snapvol::fs {

ControlAttrs::ControlAttrs(MountServer* server, const KernelIo* io, Deliver deliver, Drain drain)
    : server_(server), io_(io), deliver_(std::move(deliver)), drain_(std::move(drain)) {}

bool ControlAttrs::IsControl(Ino ino, const std::string& name) {
  return ino == kRootIno && name.rfind(kXattrPrefix, 0) == 0;
}

core::Status ControlAttrs::MayControl(const Cred& cred) const {
  return server_->view().Access(kRootIno, kMayRead, cred);
}

core::Status ControlAttrs::Set(const std::string& name, const Cred& cred, uint32_t uid) {
  if (core::Status access = MayControl(cred); !access.ok()) return access;
  if (name == kXattrCommit) return server_->Commit(CommitTrigger::kExplicit, uid).status();
  if (name == kXattrReload) {
    Result<Invalidations> inv = server_->Reload();
    if (!inv.ok()) return inv.status();
    // The caller holds the root's inode lock until it is answered: entries
    // under the root are invalidated right after (their entry timeout is
    // short).
    deliver_(std::move(*inv), /*async_root=*/true);
    return core::Status::Ok();
  }
  return core::Status::FromErrno(EPERM, "setting " + name);
}

core::Result<ControlAttrs::Value> ControlAttrs::Get(const std::string& name, size_t size,
                                                    const Cred& cred, uint32_t uid) {
  if (core::Status access = MayControl(cred); !access.ok()) return access;
  Value v;
  if (name == kXattrVersion) {
    v.value = std::to_string(server_->view().base_version());
    v.probe_size = v.value.size();
  } else if (name == kXattrStatus) {
    drain_();
    v.value = EncodeMountStatus(Status());
    v.probe_size = std::max(v.value.size(), kProbeSize);
  } else if (name == kXattrCommit || name == kXattrReload) {
    v.probe_size = kProbeSize;
    if (size == 0) return v;
    if (name == kXattrCommit) {
      Result<CommitInfo> r = server_->Commit(CommitTrigger::kExplicit, uid);
      if (!r.ok()) return r.status();
      v.value = EncodeCommitInfo(*r);
    } else {
      Result<Invalidations> inv = server_->Reload();
      if (!inv.ok()) return inv.status();
      drain_();
      deliver_(std::move(*inv), /*async_root=*/false);
      v.value = std::to_string(server_->view().base_version());
    }
  } else {
    return core::Status::FromErrno(ENODATA, "no control attribute " + name);
  }
  return v;
}

MountStatus ControlAttrs::Status() const {
  MountStatus s = server_->CurrentStatus();
  s.passthrough_accepted = io_->accepted();
  s.passthrough = io_->in_use();
  return s;
}

}  // namespace snapvol::fs
