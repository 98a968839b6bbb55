// ContainerMount: mounts snapvol FUSE connections into a container's mount
// namespace, as snapvol-hook does at createRuntime (docs/oci.md). The
// container's root file system at that point is the bundle's rootfs on the
// host path (before pivot_root), valid inside its namespace.
//
// Paths come from the container's annotations and the rootfs from its
// image: both are untrusted. A target is resolved beneath the rootfs as if
// the rootfs were "/" (openat2 RESOLVE_IN_ROOT), so a symlink in the image
// cannot point the mount outside it; missing directories are created (0755,
// and removed again by Undo); a target that is not a directory is refused.
//
// Not thread-safe, and the process must be single-threaded: setns(2) into
// a mount namespace fails in a multi-threaded process.
#pragma once

#include <string>
#include <vector>

#include "driver/core/result.h"

namespace snapvol::hooks {

class ContainerMount {
 public:
  // Enters the mount namespace of process `pid` (the container's init),
  // keeping `rootfs` (a host path valid there) open. Opens nothing else.
  static core::Result<ContainerMount> Enter(int pid, const std::string& rootfs);
  ContainerMount(ContainerMount&& other) noexcept;
  ContainerMount& operator=(ContainerMount&&) = delete;
  ~ContainerMount();

  // Mounts the connection of `fuse_fd` (an open /dev/fuse) at `path` (an
  // absolute path inside the container), nosuid and nodev, read-only if
  // asked. `source` names it in the mount table ("snapvol:ENV/VOLUME").
  core::Status MountFuse(int fuse_fd, const std::string& path, const std::string& source,
                         bool read_only);

  // Unmounts everything MountFuse mounted (newest first, lazily) and
  // removes the directories it created. For a failed start.
  void Undo();

 private:
  ContainerMount(int root_fd) : root_fd_(root_fd) {}
  // Opens `path` (components) beneath the root as an O_PATH directory,
  // creating missing components.
  core::Result<int> OpenTarget(const std::vector<std::string>& parts, const std::string& path);

  int root_fd_ = -1;
  std::vector<std::string> mounted_;  // "/proc/self/fd"-free paths inside the container
  std::vector<std::string> created_;  // directories created, in creation order
};

}  // namespace snapvol::hooks
