// ControlAttrs: the control attributes on the volume root (docs/mount.md
// "Control"): user.snapvol.commit, .reload, .version and .status. Setting
// commit or reload acts; reading them acts too and returns the result as
// JSON or a version (the CLI reads them: getxattr holds no inode lock).
// Allowed to any user who may read the root.
//
// FUSE-free: the FUSE layer (fuse_ops.cc) routes getxattr/setxattr of these
// names here and turns the answers into replies; the kernel invalidations a
// reload produces go back to it through the Deliver callback.
//
// Thread-safe as MountServer is; commits and reloads are serialized there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "driver/core/result.h"
#include "driver/core/status.h"
#include "driver/fs/access.h"
#include "driver/fs/kernel_io.h"
#include "driver/fs/mount_server.h"

namespace snapvol::fs {

class ControlAttrs {
 public:
  // What a size probe (getxattr with size 0) of a value computed only when
  // read is answered: a bound, so the probe never acts.
  static constexpr size_t kProbeSize = 64 << 10;

  // Hands a reload's invalidations to the kernel. `async_root`: the caller
  // holds the root's inode lock (a setxattr on it), so the entries directly
  // under the root must be queued, not delivered now.
  using Deliver = std::function<void(Invalidations inv, bool async_root)>;
  // Waits until queued invalidations were delivered.
  using Drain = std::function<void()>;

  // `server` and `io` must outlive this. `io` reports passthrough in the
  // status.
  ControlAttrs(MountServer* server, const KernelIo* io, Deliver deliver, Drain drain);

  // Whether attribute `name` of inode `ino` is a control attribute (any
  // user.snapvol.* name on the root).
  static bool IsControl(Ino ino, const std::string& name);

  // setxattr of control attribute `name` by `cred` (`uid` is credited as a
  // commit's author). EPERM for a name that cannot be set.
  core::Status Set(const std::string& name, const Cred& cred, uint32_t uid);

  // The answer to a getxattr: `value`, or for a size probe, `probe_size`.
  struct Value {
    std::string value;
    size_t probe_size = 0;
  };
  // getxattr of control attribute `name`; `size` 0 is a size probe (which
  // does not commit or reload). ENODATA for a name that does not exist.
  core::Result<Value> Get(const std::string& name, size_t size, const Cred& cred, uint32_t uid);

  // The mount's status (user.snapvol.status), with passthrough as the
  // kernel I/O state knows it: accepted at INIT, and in use.
  MountStatus Status() const;

 private:
  core::Status MayControl(const Cred& cred) const;

  MountServer* const server_;
  const KernelIo* const io_;
  const Deliver deliver_;
  const Drain drain_;
};

}  // namespace snapvol::fs
