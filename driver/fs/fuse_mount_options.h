// The parameters of a snapvol FUSE mount that both ways of mounting one must
// agree on: libfuse's mount in the server (fuse_ops.cc) and snapvol-hook's
// mount(2) into a container's namespace, whose descriptor the server then
// serves (mount.h MountOptions::fuse_fd). Header-only: the hook links no
// mount code.
#pragma once

#include <cstddef>
#include <string>

namespace snapvol::fs {

// The largest READ the kernel sends (its max_read mount option; libfuse
// checks the server's setting against it). Reads are answered by splicing
// chunk files into /dev/fuse through a pipe; libfuse needs the pipe a few
// pages larger than the reply and unprivileged (no CAP_SYS_RESOURCE) pipes
// stop at fs.pipe-max-size (1 MiB by default), so a 1 MiB reply would fall
// back to copying through a fresh buffer.
inline constexpr size_t kFuseMaxRead = 512 << 10;

// The data argument of mount(2) for a connection on descriptor `fd` whose
// root is a directory owned by root, that every user of the container may
// use (allow_other: containers run as many users, and in user namespaces).
inline std::string KernelFuseMountData(int fd) {
  return "fd=" + std::to_string(fd) + ",rootmode=40000,user_id=0,group_id=0,allow_other,max_read=" +
         std::to_string(kFuseMaxRead);
}

}  // namespace snapvol::fs
