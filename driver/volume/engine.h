// Engine: the volume engine every front end (CLI, mount servers, CSI driver,
// OCI hook) drives. Environments, volumes, snapshots, commits and history on
// top of one store::Store. Thread-safe; many Engines in many processes may
// share one store.
//
// Commit protocol (S3, S6, S7, S9): read the head version N; apply the change
// set on top of its tree (TreeEditor); check the inode limit; write the new
// pages and the commit object; Flush the object store; append version N+1 to
// the version log if absent. If another writer took N+1, start again from
// the new head (bounded attempts, jittered backoff). The head never names a
// partial commit: the version record is written last, after a Flush.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "driver/core/env.h"
#include "driver/core/result.h"
#include "driver/store/store.h"
#include "driver/volume/change_set.h"
#include "driver/volume/tree_reader.h"
#include "snapvol_objects.pb.h"

namespace snapvol::volume {

using core::Hash;
using core::Result;
using core::Status;
using store::EnvironmentRecord;
using store::VolumeRecord;

struct CreateVolumeOptions {
  uint64_t inode_limit = store::kDefaultInodeLimit;
  bool if_missing = false;  // return the existing volume instead of AlreadyExists
};

struct CommitOptions {
  objects::Author author;
  std::string message;
  // A commit that lost the race for the next version re-applies its changes
  // on the new head and tries again (S6: every commit lands), with jittered
  // backoff, until it lands, `max_attempts` attempts were lost (0: no
  // limit) or `give_up_after` has passed; then Aborted. Losing means another
  // commit landed, so the store always makes progress.
  int max_attempts = 0;
  std::chrono::milliseconds give_up_after{600'000};
  // CommitRoot only (a change set needs the head's content): land on top of
  // a head whose commit object cannot be read (Corruption), as its next
  // version (what a rollback must do).
  bool over_unreadable_head = false;
};

struct CommitResult {
  uint64_t version = 0;  // the version that landed (or the head, if empty)
  Hash commit;
  bool empty = false;  // nothing to commit; no version was created
  int attempts = 0;
  objects::ChangeSummary summary;
  std::vector<std::string> skipped;
};

// An immutable view of one version of a volume. Version 0 is the empty
// volume before its first commit. Cheap to copy.
struct Snapshot {
  VolumeRecord volume;
  uint64_t version = 0;
  Hash commit_hash;        // zero for version 0
  objects::Commit commit;  // root entry, totals, author...
  // Log only: why this version's commit object could not be read (then
  // `commit` is empty); ok otherwise.
  Status error;
  const objects::Entry& root() const { return commit.root(); }
  uint64_t inodes() const { return commit.inodes(); }
};

class Engine {
 public:
  // `store` and `env` must outlive the engine.
  Engine(store::Store* store, core::Env* env);

  store::Store& store() { return *store_; }
  store::ObjectStore& objects() { return *store_->objects; }
  TreeReader& reader() { return reader_; }
  core::Env* env() { return env_; }

  // Environments. Names are validated (InvalidArgument with the pattern).
  Status CreateEnvironment(const std::string& name);
  Result<std::vector<EnvironmentRecord>> ListEnvironments();
  // With `force`, deletes the environment's volumes too; otherwise
  // FailedPrecondition if it has any. "main" cannot be deleted.
  Status DeleteEnvironment(const std::string& name, bool force);

  // Volumes. Every message names the volume and environment.
  Result<VolumeRecord> CreateVolume(const std::string& env, const std::string& name,
                                    const CreateVolumeOptions& options);
  Result<VolumeRecord> GetVolume(const std::string& env, const std::string& name);
  Result<std::vector<VolumeRecord>> ListVolumes(const std::string& env);
  // FailedPrecondition naming the mounts if the volume has registered
  // mounts that may hold pending changes (MountRecord: a live server, or a
  // dead one whose state is not recovered yet; stale records of this host
  // are dropped), unless `force`: then those changes can only go elsewhere
  // (`snapvol recover --into` or `--discard`).
  Status DeleteVolume(const std::string& env, const std::string& name, bool force = false);

  // The registered mounts of `volume` that may still hold pending changes;
  // drops the records of this host's mounts that are gone without state.
  Result<std::vector<store::MountRecord>> LiveMounts(const VolumeRecord& volume);
  Status RenameVolume(const std::string& env, const std::string& from, const std::string& to);

  // Snapshots (attach = Head: one version-log read and one commit object).
  Result<Snapshot> Head(const VolumeRecord& volume);
  // NotFound naming the volume if the version does not exist.
  Result<Snapshot> AtVersion(const VolumeRecord& volume, uint64_t version);
  // Newest first, at most `limit` (0 = all). A version whose commit object
  // cannot be read is listed with `error` set; the log goes on past it.
  Result<std::vector<Snapshot>> Log(const VolumeRecord& volume, size_t limit);

  // Entry at `path` in `snap`, or nullopt.
  Result<std::optional<objects::Entry>> Lookup(const Snapshot& snap, const Path& path);

  // Commits `changes` (see protocol above). ResourceExhausted naming the
  // volume if the result would exceed the inode limit and grow the count;
  // Aborted after max_attempts lost races; an empty change set creates no
  // version. Objects referenced by `changes` must already be Put.
  Result<CommitResult> Commit(const VolumeRecord& volume, const ChangeSet& changes,
                              const CommitOptions& options);

  // Commits `root`, a directory entry whose tree is already in the store
  // (another version's or another volume's root: a snapshot to restore or
  // fork), as the volume's next version. O(1) in the size of the tree:
  // nothing is read, copied or rewritten but the root's top page existence
  // check and the commit object, since content addressing shares every page
  // and chunk. The new version replaces the head's content as a whole (it
  // does not merge). Compare-and-swap like Commit: with `expected_head`,
  // lands only as version *expected_head + 1 and fails with
  // FailedPrecondition naming the volume once the head has moved on;
  // without it, lost races are retried on the new head (Aborted after
  // max_attempts). InvalidArgument if `root` is not a directory;
  // NotFound naming the tree if its top page is not in the store;
  // ResourceExhausted if it would grow the volume past its inode limit.
  // A root equal to the head's creates no version (result.empty).
  Result<CommitResult> CommitRoot(const VolumeRecord& volume, const objects::Entry& root,
                                  const CommitOptions& options,
                                  std::optional<uint64_t> expected_head = std::nullopt);

  // Commits version `version`'s root as the next version: O(1), the way
  // back from a bad commit (or a damaged head: the head's commit object
  // need not be readable, version `version`'s must). Version 0 empties the
  // volume. NotFound naming the version if it does not exist.
  Result<CommitResult> Rollback(const VolumeRecord& volume, uint64_t version,
                                CommitOptions options);

  // A root directory entry for an empty volume (mode 0755, uid/gid 0).
  Result<objects::Entry> EmptyRoot();

  // "volume 'x' in environment 'main'" for messages.
  static std::string Describe(const VolumeRecord& volume);

 private:
  // Head(volume); with `over_unreadable`, a head whose commit object is
  // Corruption becomes a snapshot of just its version and hash (what
  // CommitOptions::over_unreadable_head lands on).
  Result<Snapshot> HeadToReplace(const VolumeRecord& volume, bool over_unreadable);
  // Puts `commit` (version N+1), flushes and appends its version record;
  // false if another writer took version N+1 (nothing landed), else fills
  // `result`'s version, commit and summary.
  Result<bool> Land(const VolumeRecord& volume, const objects::Commit& commit,
                    CommitResult* result);

  store::Store* store_;
  core::Env* env_;
  TreeReader reader_;
};

// The host's default author for commits made by `tool` (user, host name).
// This host's name ("" if unknown): commit authors and mount records.
std::string HostName();

objects::Author DefaultAuthor(const std::string& tool);
// DefaultAuthor, credited to user `uid` (its name, or the number if the
// node does not know it) instead of this process's user.
objects::Author AuthorAs(const std::string& tool, uint32_t uid);

}  // namespace snapvol::volume
