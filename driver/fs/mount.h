// The mount API the CLI, the CSI driver and the OCI hook call.
// docs/mount.md describes the design; this header is the contract.
//
//   Mount       starts a mount server (a libfuse3 low-level server showing
//               the volume's newest commit, or a pinned version, over a
//               private node-local write layer) and returns once the mount
//               is ready or with the server's startup error.
//   Unmount     commits what is pending (reporting a failure), unmounts and
//               waits for the server to exit (it commits anything left).
//   CommitMount / ReloadMount / StatusOf talk to a running mount through
//               its root's extended attributes (user.snapvol.*), exactly as a
//               program inside a container can.
//   Recover     commits the journals of crashed mount servers (S9).
//
// This is the mount client (target snapvol_mount_client): it links no
// server code and no libfuse. mount_inspect.h tells live, dead and absent
// mounts apart. Mount() starts the server as a fresh process (fork + exec of the
// `snapvol-mount` server binary, found as described at server_binary), so a
// caller's open store, threads or locks never leak into it; the server runs
// in its own session, re-parented to init.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "driver/core/result.h"

namespace snapvol::fs {

using core::Result;
using core::Status;

struct MountOptions {
  std::string store;  // store spec (directory of the embedded store)
  std::string environment = "main";
  std::string volume;
  std::string mountpoint;                           // an existing directory
  std::string state_dir;                            // node-local state; "" = DefaultStateDir(store)
  std::chrono::milliseconds commit_interval{5000};  // background commits; 0 = off
  bool read_only = false;
  uint64_t version = 0;     // 0 = newest; N pins version N (implies read_only)
  bool foreground = false;  // become the server (exec) and serve until unmounted
  // The server executable for background mounts. "" = $SNAPVOL_MOUNT_SERVER,
  // else `snapvol-mount` next to the running executable, else the one in
  // this build tree, else on $PATH.
  std::string server_binary;
  // Commit author details (the CSI driver and hook fill these in).
  std::string author_tool = "mount";
  std::string pod, pod_namespace, container;
  // A FUSE connection already mounted elsewhere (an OCI container's mount
  // namespace, mounted by snapvol-hook): Mount() hands this descriptor to
  // the server, which serves it instead of mounting `mountpoint` (then only
  // a name for status and logs, e.g. "container ID:/data"). -1 = none.
  int fuse_fd = -1;
};

// The result of a commit made by a mount.
struct CommitInfo {
  uint64_t version = 0;   // the version that landed, or the head if nothing was pending
  bool empty = true;      // nothing was pending; no version was created
  uint64_t changes = 0;   // operations in the change set
  uint64_t deferred = 0;  // files left for the next commit (being written meanwhile)
  int attempts = 0;       // compare-and-swap attempts
  int64_t time_ns = 0;    // when it finished
  std::string trigger;    // explicit, background, final
};

struct MountStatus {
  std::string volume, environment, store, mountpoint, state_dir, mount_id;
  uint64_t version = 0;  // base version shown by the mount
  bool read_only = false;
  bool pinned = false;   // mounted with --version
  uint64_t pending = 0;  // changes not yet committed
  int64_t commit_interval_ms = 0;
  int pid = 0;
  uint64_t inodes = 0, inode_limit = 0;
  uint64_t commits = 0, reloads = 0;
  // Passthrough reads (docs/mount.md): whether the kernel accepted them,
  // opens served that way, and the host's file cache (copies opened,
  // copies made, copies that failed).
  bool passthrough = false;
  bool passthrough_accepted = false;  // at INIT; `passthrough`: a backing file is in use
  uint64_t passthrough_opens = 0;
  uint64_t file_cache_hits = 0, file_cache_fills = 0, file_cache_fill_failures = 0;
  uint64_t reads = 0;  // READ requests the server answered
  // The last commit attempt, if any.
  bool has_last_commit = false;
  bool last_commit_ok = false;
  std::string last_commit_error;
  CommitInfo last_commit;
};

struct RecoveredMount {
  std::string mount_id, environment, volume, mountpoint;
  bool committed = false;
  CommitInfo commit;
  std::string error;  // why it could not be recovered (left in place)
};
struct RecoverReport {
  std::vector<RecoveredMount> mounts;
};

// <store>/state for the embedded store.
std::string DefaultStateDir(const std::string& store);

// With `options.foreground`, replaces this process with the server (exec;
// run_mount_server.h) and returns only if that failed.
Status Mount(const MountOptions& options);

// The environment a mount server is started with: `env` (a NUL-terminated
// array like `environ`) with glibc malloc tunables the server relies on
// (transparent huge pages for its heap) put before any GLIBC_TUNABLES the
// caller set, so the caller's settings win.
std::vector<std::string> ServerEnvironment(char** env);
Status Unmount(const std::string& mountpoint);
Result<CommitInfo> CommitMount(const std::string& mountpoint);
Status ReloadMount(const std::string& mountpoint);
Result<MountStatus> StatusOf(const std::string& mountpoint);
Result<RecoverReport> Recover(const std::string& store, const std::string& state_dir);

// Control attribute names on a mount root (docs/mount.md "Control").
inline constexpr char kXattrCommit[] = "user.snapvol.commit";
inline constexpr char kXattrReload[] = "user.snapvol.reload";
inline constexpr char kXattrVersion[] = "user.snapvol.version";
inline constexpr char kXattrStatus[] = "user.snapvol.status";
inline constexpr char kXattrPrefix[] = "user.snapvol.";

}  // namespace snapvol::fs
