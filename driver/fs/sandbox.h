// The mount server's least-privilege steps (docs/security.md): before it
// parses anything, a start-up seccomp allowlist; once the FUSE mount exists,
// it drops every capability but CAP_SYS_ADMIN and narrows the allowlist to
// the syscalls a file server needs. Everything else (execve, mount, ptrace,
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
// The start-up allowlist, installed before the server reads anything it
// did not write (journals, objects, the catalog): MountServerAllowlist()
// plus what mounting and dropping privileges take (mount, capset, ...).
// Filters stack, so MountServerAllowlist() installed later narrows it.
core::SyscallAllowlist MountServerStartupAllowlist();

// Whether this server process sandboxes itself: only as root (a non-root
// server must exec the setuid fusermount3 to unmount itself, which
// no_new_privs forbids) and unless SNAPVOL_SECCOMP=0 (for debugging).
bool ShouldSandboxMountServer();

// The CSI driver's allowlist: MountServerStartupAllowlist() (the mount
// helpers and servers it starts inherit the filter, and filters only narrow)
// plus serving gRPC and starting and reaping those processes.
core::SyscallAllowlist DriverAllowlist();

// Installs MountServerStartupAllowlist() in this process: first thing.
core::Status SandboxMountServerStartup();

// Once mounted: keeps only CAP_SYS_ADMIN (FUSE passthrough's backing-file
// ioctl and unmounting need it) and CAP_SYS_RESOURCE (libfuse's 1 MiB splice
// pipes are over pipe-max-size) in the effective and permitted sets; no
// file access override: every file the server opens is root's own. Clears
// the inheritable and ambient sets, then installs MountServerAllowlist().
core::Status SandboxMountServer();

// The effective capability set of this process (CapEff), for tests.
uint64_t CurrentEffectiveCapabilities();

}  // namespace snapvol::fs
