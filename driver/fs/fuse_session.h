// The FUSE session of a MountServer: mounting, the multi-threaded loop, our
// I/O on /dev/fuse (RequestReceiver reads, passthrough amendments of INIT and
// OPEN replies, splice), readahead tuning and kernel cache invalidation.
// The operations it serves are fuse_ops.cc's.
//
// FUSE layer: fuse_session.cc, fuse_ops.cc and fuse_reply.cc are the only
// files that include fuse_lowlevel.h (this header only names libfuse's
// types). Locks: this layer holds none of its own while it calls the
// MountServer or the kernel; KernelIo's lock is a leaf.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "driver/core/status.h"
#include "driver/fs/async_invalidator.h"
#include "driver/fs/control_attrs.h"
#include "driver/fs/fuse_mount_options.h"
#include "driver/fs/fuse_passthrough.h"
#include "driver/fs/handle_io.h"
#include "driver/fs/kernel_io.h"
#include "driver/fs/mount_server.h"
#include "driver/fs/request_receiver.h"

struct fuse_session;

namespace snapvol::fs {

// The largest WRITE the kernel sends (max_write).
inline constexpr size_t kFuseMaxWrite = 1 << 20;
// The largest READ: kFuseMaxRead (fuse_mount_options.h), which the OCI
// hook's mount(2) uses too.

// Everything the operations of one mount share (libfuse's userdata). Lives
// as long as ServeFuse.
struct FuseSession {
  MountServer* server = nullptr;
  fuse_session* se = nullptr;
  KernelIo io;                              // handle I/O modes (kernel_io.h)
  std::unique_ptr<BackingFiles> backing;    // set when the session exists
  std::unique_ptr<HandleIo> handles;        // applies `io` to handles
  std::unique_ptr<AsyncInvalidator> async;  // while mounted
  std::unique_ptr<ControlAttrs> control;
  std::unique_ptr<RequestReceiver> receiver;  // null: libfuse's own reads
  // The kernel may offer passthrough in INIT; our amended reply accepts.
  bool want_passthrough = false;
  std::atomic<uint64_t> init_unique{0};  // INIT's request id, once offered
};

// Mounts `server` at its mountpoint, calls `ready` once the kernel mount
// exists (a failure unmounts and is returned), and serves requests until the
// file system is unmounted (umount, fusermount3 -u, the kernel tearing it
// down) or the process gets SIGTERM, SIGINT or SIGHUP (which unmount it).
// Returns the session's error, if any; the caller then runs the final
// commit.
core::Status ServeFuse(MountServer& server, const std::function<core::Status()>& ready);

// The libfuse mount options of `server`'s mount ("-o" argument).
std::string FuseMountOptions(const MountOptions& options, const std::string& fsname);

// The backing id that the OPEN or CREATE reply this thread sends next
// carries (0: none); set around fuse_reply_open / fuse_reply_create.
void SetOpenReplyBacking(int32_t backing_id);

// Makes the kernel look (parent, name) up again on its next use. Expiring
// rather than invalidating leaves the dentry in place: a process whose
// working directory it is keeps a valid getcwd, and mounts on it stay.
void ExpireEntry(FuseSession* s, Ino parent, const std::string& name);

// Delivers a reload's kernel invalidations. `async_root` queues the entries
// directly under the root instead (the caller holds the root's inode lock).
void DeliverInvalidations(FuseSession* s, Invalidations inv, bool async_root);

}  // namespace snapvol::fs
