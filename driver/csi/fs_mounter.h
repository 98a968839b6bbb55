// FsMounter: the Mounter of the real driver, on top of the driver/fs mount
// library (driver/fs/mount.h).
//
// fs::Mount forks the mount server and must run in a single-threaded
// process, which the gRPC driver is not. So Mount() runs a helper: it
// posix_spawns `<helper_binary> __mount <options JSON> <error file>` (the
// driver binary itself, whose main() hands that argv to RunMountHelper),
// the helper calls fs::Mount, which starts the detached server and returns
// once it serves, and the helper exits 0 or writes the error to the error
// file. The helper's stdio is /dev/null: a mount server must not inherit a
// pipe to the driver, which dies with the driver's container.
//
// With MountSpec::mount_group, Mount() applies ApplyMountGroup to the new
// mount before it returns.
//
// Commit, Reload and Inspect go through the mount root's control xattrs
// (fs::CommitMount, ReloadMount, StatusOf); a recorded mount whose server is
// gone is found through the mount state directory and /proc/self/mountinfo.
#pragma once

#include <string>

#include "driver/csi/mounter.h"

namespace snapvol::csi {

struct FsMounterOptions {
  std::string store;          // store spec, as given to the driver
  std::string state_dir;      // node-local mount state ("" = fs default for the store)
  std::string helper_binary;  // normally /proc/self/exe
  std::chrono::milliseconds default_commit_interval{5000};
  // If set, a cgroup v2 directory outside the driver container (e.g.
  // /host/sys/fs/cgroup/snapvol.slice on a hostPath of the host's
  // /sys/fs/cgroup): the helper enters the host's cgroup namespace (needs
  // hostPID and CAP_SYS_ADMIN) and moves itself there before starting the
  // server, so the container runtime does not kill mount servers when it
  // restarts the driver container. Failure is logged, not fatal.
  std::string mount_cgroup;
};

class FsMounter : public Mounter {
 public:
  explicit FsMounter(FsMounterOptions options) : options_(std::move(options)) {}

  Status Mount(const MountSpec& spec) override;
  Status Unmount(const std::string& target) override;
  Result<MountCommit> Commit(const std::string& target, const std::string& message) override;
  Result<uint64_t> Reload(const std::string& target) override;
  Result<MountState> Inspect(const std::string& target) override;
  Result<MountUsage> Usage(const std::string& target) override;
  Status Recover() override;

 private:
  std::string StateDir() const;

  FsMounterOptions options_;
};

// The `__mount` helper's main: argv = {prog, "__mount", json, error_file}.
// Returns the process exit code.
int RunMountHelper(int argc, char** argv);

// Whether `path` is a mount point (per /proc/self/mountinfo).
bool IsMountPoint(const std::string& path);

// Honours a pod's fsGroup (CSI volume_mount_group) on a read-write mount
// without walking the volume: the mount root `root` becomes group-owned by
// `gid`, group-readable/writable/searchable and set-group-ID, so everything
// the pod creates in it inherits the group. One inode changes, once (a no-op
// when the root already looks like that), instead of kubelet's chown and
// chmod of every file, which on a big volume takes minutes and rewrites
// every file's metadata as a commit. Existing entries below the root keep
// their owners and modes.
Status ApplyMountGroup(const std::string& root, uint32_t gid);

}  // namespace snapvol::csi
