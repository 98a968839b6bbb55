// Mounter: how the node service starts and controls mount servers. The real
// implementation (fs_mounter.h) drives the driver/fs library; tests use a
// fake, so the node service's rules (idempotency, target path creation and
// removal, restart) are unit-tested without FUSE or root.
//
// Mount servers are separate processes that outlive the driver (S9):
// every method must work for a mount started by an earlier driver process,
// identified only by its target path.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "driver/core/result.h"
#include "snapvol_objects.pb.h"

namespace snapvol::csi {

using core::Result;
using core::Status;

struct MountSpec {
  std::string environment;
  std::string volume;
  std::string target_path;  // an existing empty directory
  bool read_only = false;
  std::optional<uint64_t> version;  // show this version (read-only) instead of the head
  std::optional<std::chrono::milliseconds> commit_interval;  // unset: the driver default
  // The pod's fsGroup (CSI volume_mount_group): a read-write mount's root is
  // given to this group before Mount returns (fs_mounter.h ApplyMountGroup).
  std::optional<uint32_t> mount_group;
  objects::Author author;  // recorded on the mount's commits
};

struct MountState {
  bool healthy = false;  // the server process is alive and answering
  std::string message;   // why not healthy
  uint64_t base_version = 0;
  uint64_t pending_operations = 0;
  int64_t pid = 0;
  bool read_only = false;
  uint64_t commit_interval_ms = 0;
};

struct MountUsage {
  uint64_t bytes_total = 0, bytes_available = 0, bytes_used = 0;
  uint64_t inodes_total = 0, inodes_free = 0, inodes_used = 0;
};

struct MountCommit {
  uint64_t version = 0;
  bool empty = false;  // nothing was pending
};

class Mounter {
 public:
  virtual ~Mounter() = default;

  // Starts a mount server for the volume at spec.target_path and returns once
  // it serves (or with its startup error).
  virtual Status Mount(const MountSpec& spec) = 0;

  // Final commit, unmount, and wait for the server to exit. NotFound if no
  // snapvol mount (live or dead) is at `target`. If the final commit fails
  // the mount is still taken down, the pending changes stay in the node's
  // state directory for Recover(), and the commit error is returned.
  virtual Status Unmount(const std::string& target) = 0;

  // Commits the mount's pending changes; returns when they landed.
  virtual Result<MountCommit> Commit(const std::string& target, const std::string& message) = 0;
  // Moves the mount to the volume's newest version; returns that version.
  virtual Result<uint64_t> Reload(const std::string& target) = 0;
  // NotFound if no snapvol mount is recorded at `target`; a recorded mount
  // whose server died is returned with healthy == false.
  virtual Result<MountState> Inspect(const std::string& target) = 0;
  // statfs of the mount: bytes of the store's file system, inodes against
  // the volume's inode limit. Fails if the server is gone.
  virtual Result<MountUsage> Usage(const std::string& target) = 0;

  // Commits what mount servers that died left pending (S9) and
  // cleans up their state. Safe to call at any time.
  virtual Status Recover() = 0;
};

}  // namespace snapvol::csi
