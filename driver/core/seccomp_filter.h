// A syscall allowlist installed with libseccomp (docs/semantics.md "Least
// privilege"): once a long-lived process has finished the privileged part of
// its start-up (a mount server: the FUSE mount itself), it drops every
// syscall it does not need. A syscall outside the list fails with EPERM
// (ENOSYS for the few that libc probes and falls back from); it does not
// kill the process, so a missed entry degrades one operation instead of
// tearing down a mount with pending changes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "driver/core/status.h"

namespace snapvol::core {

struct SyscallAllowlist {
  // Allowed with any arguments. Names unknown on this architecture are
  // skipped (e.g. legacy calls that only exist on some ABIs).
  std::vector<std::string> syscalls;
  // socket(2) is allowed for these address families only.
  std::vector<int> socket_families;
  // ioctl(2) is allowed with these request numbers only.
  std::vector<uint32_t> ioctl_requests;
  // Applied to every thread of the process (SECCOMP_FILTER_FLAG_TSYNC), not
  // only the calling one.
  bool all_threads = true;
};

// Installs `list` in this process. Sets no_new_privs (required to install a
// filter without CAP_SYS_ADMIN, and what a sandboxed server wants anyway).
// Irreversible; filters stack, so a second call can only narrow further.
Status InstallSyscallAllowlist(const SyscallAllowlist& list);

// The seccomp mode of this process from /proc/self/status: 0 none,
// 1 strict, 2 filter; -1 if unknown.
int CurrentSeccompMode();

}  // namespace snapvol::core
