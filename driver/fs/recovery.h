// Recovery (S9): commits what crashed mount servers left pending. For every
// mount directory under <state>/mounts whose lock is not held (its server is
// gone), the journal generations are replayed in order into a ChangeSet —
// PUTs of written files take the upper files' current bytes — committed to
// the volume, and the directory is removed (renamed to .gone-<id>, then
// deleted) before its lock is released, so two recoverers never commit one
// journal twice. A directory without mount.json is a server still starting
// (it creates its directory before it takes its lock) and is left alone;
// after 10 minutes it is taken for the leftover of a server that died
// starting and removed. A directory that cannot be committed (store down,
// volume deleted) is left for the next attempt and reported. Safe to run
// from several processes at once (every mount server runs it at startup).
#pragma once

#include <string>

#include "driver/core/result.h"
#include "driver/fs/mount.h"
#include "driver/volume/change_set.h"
#include "driver/volume/engine.h"

namespace snapvol::fs {

// Replays the journals of one mount directory into a change set; upper
// file content is chunked into `objects`. Records naming an upper file that
// no longer exists are skipped (the file was deleted later).
Result<volume::ChangeSet> ReplayMountDir(const std::string& mount_dir, store::ObjectStore* objects);

// Recovers every dead mount under `state_dir` except `skip_id`.
Result<RecoverReport> RecoverMounts(volume::Engine& engine, const std::string& state_dir,
                                    const std::string& skip_id = "");

// For a mount `recover` cannot finish (its volume was deleted with force,
// or re-created): commits its pending changes into another volume `into`
// of the store, then removes its state. NotFound if there is no such mount
// state; FailedPrecondition if its server is alive.
Result<volume::CommitResult> RecoverMountInto(volume::Engine& engine, const std::string& state_dir,
                                              const std::string& mount_id,
                                              const volume::VolumeRecord& into);

// Drops a dead mount's pending changes and state for good. Same errors.
Status DiscardMount(volume::Engine& engine, const std::string& state_dir,
                    const std::string& mount_id);

}  // namespace snapvol::fs
