#include "hooks/container_mount.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "driver/core/names.h"
#include "driver/core/text.h"
#include "driver/fs/fuse_mount_options.h"

namespace snapvol::hooks {
namespace {

using core::Result;
using core::Status;

int OpenInRoot(int root, const std::string& rel, uint64_t flags) {
  struct open_how how {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = ::syscall(SYS_openat2, root, rel.empty() ? "." : rel.c_str(), &how, sizeof(how));
    if (fd < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return static_cast<int>(fd);
  }
}

std::string FdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

std::string Join(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? "/" : "") + parts[i];
  return out;
}

}  // namespace

Result<ContainerMount> ContainerMount::Enter(int pid, const std::string& rootfs) {
  if (pid <= 0) return Status::InvalidArgument("the container has no process to mount into");
  const std::string ns = "/proc/" + std::to_string(pid) + "/ns/mnt";
  int ns_fd = ::open(ns.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) return Status::FromErrno(errno, "opening the container's mount namespace " + ns);
  if (::setns(ns_fd, CLONE_NEWNS) != 0) {
    const int e = errno;
    ::close(ns_fd);
    return Status::FromErrno(e, "entering the container's mount namespace");
  }
  ::close(ns_fd);
  int root = ::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    return Status::FromErrno(errno, "opening the container's root file system " + rootfs);
  }
  return ContainerMount(root);
}

ContainerMount::ContainerMount(ContainerMount&& other) noexcept
    : root_fd_(other.root_fd_),
      mounted_(std::move(other.mounted_)),
      created_(std::move(other.created_)) {
  other.root_fd_ = -1;
}

ContainerMount::~ContainerMount() {
  if (root_fd_ >= 0) ::close(root_fd_);
}

Result<int> ContainerMount::OpenTarget(const std::vector<std::string>& parts,
                                       const std::string& path) {
  for (size_t i = 1; i <= parts.size(); ++i) {
    const std::string rel = Join(parts, i);
    int fd = OpenInRoot(root_fd_, rel, O_PATH | O_DIRECTORY);
    if (fd >= 0) {
      if (i == parts.size()) return fd;
      ::close(fd);
      continue;
    }
    if (errno == ENOTDIR) {
      return Status::InvalidArgument("cannot mount a volume at " + core::QuoteBytes(path) + ": /" +
                                     rel + " is not a directory in the container's image");
    }
    if (errno != ENOENT) {
      return Status::FromErrno(errno, "resolving " + core::QuoteBytes(path) + " in the container");
    }
    int parent = OpenInRoot(root_fd_, Join(parts, i - 1), O_PATH | O_DIRECTORY);
    if (parent < 0) return Status::FromErrno(errno, "resolving the parent of /" + rel);
    const int rc = ::mkdirat(parent, parts[i - 1].c_str(), 0755);
    const int e = errno;
    ::close(parent);
    if (rc != 0 && e != EEXIST)
      return Status::FromErrno(e, "creating /" + rel + " in the container");
    if (rc == 0) created_.push_back(rel);
    --i;  // open it now (a racing creator's symlink is resolved in the root too)
  }
  return Status::InvalidArgument("cannot mount a volume at /");
}

Status ContainerMount::MountFuse(int fuse_fd, const std::string& path, const std::string& source,
                                 bool read_only) {
  ASSIGN_OR_RETURN(std::vector<std::string> parts, core::SplitVolumePath(path));
  if (parts.empty()) return Status::InvalidArgument("cannot mount a volume at /");
  ASSIGN_OR_RETURN(int target, OpenTarget(parts, path));
  unsigned long flags = MS_NOSUID | MS_NODEV;
  if (read_only) flags |= MS_RDONLY;
  const std::string data = fs::KernelFuseMountData(fuse_fd);
  const int rc =
      ::mount(source.c_str(), FdPath(target).c_str(), "fuse.snapvol", flags, data.c_str());
  const int e = errno;
  ::close(target);
  if (rc != 0) return Status::FromErrno(e, "mounting the volume at " + core::QuoteBytes(path));
  mounted_.push_back(Join(parts, parts.size()));
  return Status::Ok();
}

void ContainerMount::Undo() {
  for (auto it = mounted_.rbegin(); it != mounted_.rend(); ++it) {
    int fd = OpenInRoot(root_fd_, *it, O_PATH | O_DIRECTORY);
    if (fd < 0) continue;
    ::umount2(FdPath(fd).c_str(), MNT_DETACH);
    ::close(fd);
  }
  mounted_.clear();
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    const size_t slash = it->rfind('/');
    const std::string parent_rel = slash == std::string::npos ? "" : it->substr(0, slash);
    const std::string name = slash == std::string::npos ? *it : it->substr(slash + 1);
    int parent = OpenInRoot(root_fd_, parent_rel, O_PATH | O_DIRECTORY);
    if (parent < 0) continue;
    ::unlinkat(parent, name.c_str(), AT_REMOVEDIR);
    ::close(parent);
  }
  created_.clear();
}

}  // namespace snapvol::hooks
