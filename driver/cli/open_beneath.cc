#include "driver/cli/open_beneath.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "driver/cli/unique_fd.h"

namespace snapvol::cli {
namespace {

// Debian 12's glibc has no openat2() wrapper.
int Openat2(int root, const std::string& rel, int flags) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = ::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof(how));
    // EAGAIN: a concurrent rename made the kernel unsure the lookup stayed
    // beneath `root`; it asks for a retry.
    if (fd < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    return static_cast<int>(fd);
  }
}

int OpenatEach(int root, std::string_view rel, int flags) {
  UniqueFd dir;
  int at = root;
  for (;;) {
    size_t slash = rel.find('/');
    std::string name(rel.substr(0, slash));
    if (slash == std::string_view::npos) return ::openat(at, name.c_str(), flags);
    dir = UniqueFd(::openat(at, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir.valid()) return -1;
    at = dir.get();
    rel.remove_prefix(slash + 1);
  }
}

}  // namespace

int OpenBeneath(int root, std::string_view rel, int flags, Resolver resolver) {
  static std::atomic<bool> no_openat2{false};
  flags |= O_NOFOLLOW | O_CLOEXEC;
  if (resolver == Resolver::kAuto && !no_openat2.load(std::memory_order_relaxed)) {
    int fd = Openat2(root, std::string(rel), flags);
    if (fd >= 0 || errno != ENOSYS) return fd;
    no_openat2.store(true, std::memory_order_relaxed);
  }
  return OpenatEach(root, rel, flags);
}

}  // namespace snapvol::cli
