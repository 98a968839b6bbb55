// What is at a mountpoint, and the one rule for a mount whose server died.
//
// A FUSE mount whose server is gone (crashed, killed) stays in the mount
// table and answers every access with ENOTCONN ("transport endpoint is not
// connected") until it is unmounted; nothing can be flushed through it.
// Its pending changes are safe in the mount's state directory (journal and
// upper files, S9). The rule every client follows (the CLI, the CSI driver,
// the OCI hook): a dead mount is detached (DetachDeadMount), and its
// changes are committed by recovery (mount.h Recover), which may run before
// or after the detach: it reads only the state directory.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "driver/core/result.h"
#include "driver/fs/control_json.h"
#include "driver/fs/mount.h"

namespace snapvol::fs {

enum class MountPresence {
  kAbsent,      // nothing is mounted there
  kLive,        // a snapvol mount server answers there
  kDead,        // a FUSE mount whose server is gone (ENOTCONN / aborted)
  kNotSnapvol,  // something else is mounted there, or it does not answer as snapvol
};

struct MountInspection {
  MountPresence presence = MountPresence::kAbsent;
  MountStatus status;  // kLive: the server's status
  Status error;        // kDead / kNotSnapvol: why it is not live
};

// Looks at `mountpoint` (resolved against the mount table first, so a dead
// mount is found without touching it when nothing is mounted there).
MountInspection InspectMount(const std::string& mountpoint);

// The message for a dead mount: what happened and what to do.
Status DeadMountError(const std::string& mountpoint);

// Unmounts the FUSE mount at `mountpoint`: umount2 as root, `fusermount3
// -u` otherwise (only the user who mounted it may). `lazy` detaches it even
// while busy (MNT_DETACH, -z). As root the Status carries the errno (EBUSY).
Status UnmountFuse(const std::string& mountpoint, bool lazy);

// Detaches a dead (or unanswering) mount: aborts its FUSE connection so
// that requests waiting on the dead server fail (root only,
// fuse_connection.h), then unmounts lazily (umount2 MNT_DETACH as root,
// `fusermount3 -u -z` otherwise). OK if nothing is mounted there any more.
Status DetachDeadMount(const std::string& mountpoint);

// The mount.json of every mount recorded in `state_dir` (live servers and
// dead ones not yet recovered); unreadable records are skipped.
std::vector<MountInfo> RecordedMounts(const std::string& state_dir);

// The mount.json of the mount recorded in `state_dir` as mounted at
// `mountpoint` (compared after resolving symlinks where possible), if any.
std::optional<MountInfo> RecordedMountAt(const std::string& state_dir,
                                         const std::string& mountpoint);

}  // namespace snapvol::fs
