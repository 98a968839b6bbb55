// The mount server's least-privilege step (design.md "Least privilege"):
// once the FUSE mount exists, the server installs a seccomp allowlist of the
// syscalls a file server needs. Everything else (execve, mount, ptrace,
// unshare/setns, module loading, bpf, open_by_handle_at, process_vm_*, ...)
// fails with EPERM from then on, in every thread.
#pragma once

#include <cstdint>

#include "driver/core/seccomp_filter.h"
#include "driver/core/status.h"

namespace snapvol::fs {

// The /dev/fuse ioctls of passthrough reads, _IOW(229, 1, struct
// fuse_backing_map) and _IOW(229, 2, uint32_t), the only ioctls allowed.
inline constexpr uint32_t kFuseBackingOpen = 0x4010e501;
inline constexpr uint32_t kFuseBackingClose = 0x4004e502;

// The allowlist itself (exposed for tests).
core::SyscallAllowlist MountServerAllowlist();

// Whether this server process sandboxes itself: only as root (a non-root
// server must exec the setuid fusermount3 to unmount itself, which
// no_new_privs forbids) and unless SNAPVOL_SECCOMP=0 (for debugging).
bool ShouldSandboxMountServer();

// Installs MountServerAllowlist() in this process.
core::Status SandboxMountServer();

}  // namespace snapvol::fs
