// FUSE passthrough (kernel >= 6.9, protocol 7.40) on a libfuse that predates
// it (3.14): the bytes of the INIT and OPEN/CREATE messages that negotiate
// it, and the /dev/fuse ioctls that register backing files. Debian 12's
// linux/fuse.h predates it too, hence our own names and layouts. Which open
// uses which backing file is KernelIo's decision (kernel_io.h); fuse_session.cc
// calls these on the messages it reads and writes. docs/mount.md
// "Passthrough reads".
//
// Works on raw messages (linux/fuse.h); includes no libfuse header.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "driver/core/result.h"

namespace snapvol::fs {

// If `request` (as read from /dev/fuse) is an INIT whose kernel offers
// passthrough, its request id; otherwise 0.
uint64_t InitOfferingPassthrough(const void* request, size_t size);

// What AmendReply changed.
enum class AmendedReply { kNone, kOpen, kInit };

// Amends a reply on its way to /dev/fuse (`iov[0]` the fuse_out_header,
// `iov[1]` the arguments, as libfuse sends them):
//   - a successful OPEN or CREATE reply, when `open_backing` > 0: passes the
//     handle through to that backing id (FOPEN_PASSTHROUGH, and no
//     FOPEN_KEEP_CACHE: the inode's page cache is not used meanwhile);
//   - the successful reply to INIT request `init_unique` (non-zero):
//     accepts passthrough (FUSE_PASSTHROUGH, stack depth 1).
// Anything else is left alone.
AmendedReply AmendReply(struct iovec* iov, int count, int32_t open_backing, uint64_t init_unique);

// Backing files registered with one /dev/fuse descriptor. Thread-safe (the
// kernel serializes); does not own the descriptor. Virtual so tests can
// stand in for the kernel.
class BackingFiles {
 public:
  explicit BackingFiles(int dev_fd) : dev_fd_(dev_fd) {}
  virtual ~BackingFiles() = default;

  // Registers open descriptor `fd` (the caller keeps and closes it): the
  // backing id (> 0), or the error with its errno.
  virtual core::Result<int32_t> Open(int fd);
  // Unregisters an id Open returned.
  virtual void Close(int32_t id);

  // Whether a registration error will recur for as long as the mount lives
  // (EPERM: no CAP_SYS_ADMIN, or passthrough was refused at INIT; ELOOP: the
  // file sits on a stacked file system; ENOTTY, EINVAL, EOPNOTSUPP: no
  // support). Others (ENOMEM, EMFILE) fail one open only.
  static bool Permanent(int err);

 private:
  const int dev_fd_;
};

}  // namespace snapvol::fs
