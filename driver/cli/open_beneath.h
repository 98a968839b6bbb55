// OpenBeneath: opens a path below a directory fd without ever following a
// symlink, so a tree being walked cannot be redirected outside itself by
// swapping one of its directories for a symlink.
#pragma once

#include <string_view>

namespace snapvol::cli {

enum class Resolver {
  kAuto,    // openat2(2) where the kernel has it, else kOpenat
  kOpenat,  // openat(2) one component at a time (tests reach it this way)
};

// Opens `rel` ("a/b/c": components without "", "." or "..", as a walk
// builds them) relative to the directory fd `root` with `flags` plus
// O_NOFOLLOW|O_CLOEXEC. With openat2 the lookup is RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS; without it (ENOSYS: Linux
// before 5.6, or a seccomp filter) every directory on the way is opened
// with O_DIRECTORY|O_NOFOLLOW relative to the previous one. A symlink
// anywhere on the way fails with ELOOP or ENOTDIR (which one depends on
// the kernel path taken and on O_DIRECTORY in `flags`). Returns the fd, or
// -1 with errno set. Thread-safe.
int OpenBeneath(int root, std::string_view rel, int flags, Resolver resolver = Resolver::kAuto);

}  // namespace snapvol::cli
