#include "driver/core/seccomp_filter.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>

#include <fstream>
#include <memory>

namespace snapvol::core {
namespace {

struct CtxDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

Status SeccompError(int rc, const std::string& what) {
  return Status::FromErrno(-rc, "seccomp: " + what);
}

// libc tries these first and falls back to an older call on ENOSYS; EPERM
// would surface as a failure instead (clone3 → clone in pthread_create).
constexpr const char* kFallbackProbes[] = {"clone3"};

constexpr scmp_datum_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                         CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

}  // namespace

Status InstallSyscallAllowlist(const SyscallAllowlist& list) {
  Ctx ctx(seccomp_init(SCMP_ACT_ERRNO(EPERM)));
  if (ctx == nullptr) return Status::Internal("seccomp: cannot initialise a filter");
  if (list.all_threads) {
    int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc != 0) return SeccompError(rc, "cannot synchronise the filter across threads");
  }
  for (const char* name : kFallbackProbes) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;
    int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), nr, 0);
    if (rc != 0) return SeccompError(rc, std::string("cannot stub ") + name);
  }
  for (const std::string& name : list.syscalls) {
    bool probe = false;
    for (const char* p : kFallbackProbes) probe = probe || name == p;
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (probe || nr == __NR_SCMP_ERROR) continue;
    int rc;
    if (name == "clone") {
      // Threads, never new namespaces (clone3 hides its flags in memory a
      // filter cannot read, hence the ENOSYS above).
      rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 1,
                            SCMP_A0(SCMP_CMP_MASKED_EQ, kNamespaceFlags, 0));
    } else {
      rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0);
    }
    if (rc != 0) return SeccompError(rc, "cannot allow " + name);
  }
  int socket_nr = seccomp_syscall_resolve_name("socket");
  for (int family : list.socket_families) {
    int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, socket_nr, 1,
                              SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(family)));
    if (rc != 0) return SeccompError(rc, "cannot allow socket family " + std::to_string(family));
  }
  int ioctl_nr = seccomp_syscall_resolve_name("ioctl");
  for (uint32_t request : list.ioctl_requests) {
    // The request is an unsigned int in the kernel: compare the low 32 bits.
    int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, ioctl_nr, 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, request));
    if (rc != 0) return SeccompError(rc, "cannot allow ioctl " + std::to_string(request));
  }
  int rc = seccomp_load(ctx.get());
  if (rc != 0) return SeccompError(rc, "cannot load the filter");
  return Status::Ok();
}

int CurrentSeccompMode() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Seccomp:", 0) == 0) {
      try {
        return std::stoi(line.substr(8));
      } catch (...) {
        return -1;
      }
    }
  }
  return -1;
}

}  // namespace snapvol::core
