// LocalObjectStore: the embedded ObjectStore, one file per object under a
// local directory (layout in local_layout.h and docs/storage-format.md). All
// I/O goes through core::Env, so tests inject ENOSPC, EIO and crashes.
//
// Put writes a uniquely named temp file in tmp/ (large objects with direct
// I/O, bypassing the page cache) and renames it into objects/<xx>/ (created
// on first use); readers therefore see a whole object or none. Nothing is
// fsync'ed per Put: Flush() makes every pending object durable at once
// (fdatasync per file plus an fsync of each touched objects/<xx> and of
// objects/, or a single syncfs(2) when many objects are pending). After a
// power loss an object renamed but never flushed may be missing, empty or
// truncated: Put
// compares the size and rewrites such a file, Get verifies the SHA-256 and
// reports Corruption (and moves the file to quarantine/ so a later Put heals
// it). An unflushed object is never referenced by a landed version (write
// ordering, object_store.h).
//
// Many instances, in this and other processes, may share one root: temp
// names are unique per instance, and renames of identical content are
// atomic. Each instance holds an flock on tmp/<owner>.lock; Open() removes
// temp files whose owner no longer holds its lock (crashed or exited). An
// instance creates and locks its lock file under a shared flock of tmp.lock,
// and that cleaning runs under an exclusive one (skipped while contended),
// so opening never fails because another instance is starting or cleaning.
//
// The local backend does not record kinds: an object's path depends only on
// its hash, identical bytes stored as two kinds are one file, and ForEach
// visits every object whatever `kind` is asked for.
//
// Thread-safe. Not meant to be shared across fork(): a child process should
// open its own instance (temp names stay unique, but the parent's close
// would release the owner lock the child still relies on).
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <bitset>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "driver/core/env.h"
#include "driver/store/local/local_layout.h"
#include "driver/store/object_store.h"

namespace snapvol::store {

struct LocalObjectStoreOptions {
  // Flush() uses one syncfs(2) instead of per-object fdatasync once at least
  // this many objects are pending. Per-object syncs cost ~0.7-1.3 ms each on
  // ext4 (measurements in docs/storage-format.md); syncfs is cheaper from a
  // few objects on, but also waits for other processes' dirty data, so tiny
  // commits keep the per-file path.
  size_t syncfs_threshold = 8;
  // Put() writes objects at least this large with direct I/O (bypassing the
  // page cache; falls back to buffered I/O plus an early sync_file_range
  // where unsupported); smaller ones are buffered and written back in bulk
  // by Flush(). SIZE_MAX disables direct I/O.
  size_t direct_io_min_bytes = 256 << 10;
};

class LocalObjectStore : public ObjectStore {
 public:
  // Opens the store rooted at `root` (made absolute), creating the layout if
  // the directory is absent or empty. FailedPrecondition if FORMAT names
  // another format or version, or if the directory holds foreign files and no
  // FORMAT. `env` must outlive the store.
  static Result<std::unique_ptr<LocalObjectStore>> Open(const std::string& root, core::Env* env,
                                                        LocalObjectStoreOptions options = {});
  ~LocalObjectStore() override;

  LocalObjectStore(const LocalObjectStore&) = delete;
  LocalObjectStore& operator=(const LocalObjectStore&) = delete;

  // Existing objects of the right size are not rewritten (dedup), but still
  // count as pending: the writer that created the file may not have flushed
  // it, and our caller is about to reference it.
  Status Put(const Hash& id, ObjectKind kind, std::string_view data) override;
  Result<Hash> PutContent(ObjectKind kind, std::string_view data) override;
  // On a hash mismatch returns Corruption naming the object and moves the
  // file to quarantine/ (so Contains() turns false and Put() rewrites it).
  Result<std::string> Get(const Hash& id, ObjectKind kind) override;
  // Reads straight into `out` (no zero-fill, no copy), then verifies.
  Status GetInto(const Hash& id, ObjectKind kind, ObjectBuffer* out) override;
  // Cheap: one stat, no verification. An empty file (what a crash leaves of
  // an unflushed object) counts as absent unless `id` is the empty object.
  Result<bool> Contains(const Hash& id, ObjectKind kind) override;
  // Concurrent Flush() calls are serialized; each returns once everything
  // Put before it is durable. On failure the objects stay pending, so a
  // later Flush() retries them; an object deleted or quarantined before it
  // was made durable makes Flush() fail with Aborted (Put it again).
  Status Flush() override;
  // Not durable by itself (GC deletes are redone if lost).
  Status Delete(const Hash& id, ObjectKind kind) override;
  // Visits every stored object (kind is ignored, see above), in hash order.
  Status ForEach(ObjectKind kind, const std::function<Status(const Hash&)>& fn) override;

  // The host's verification memo of chunk `id` (verified_memo.h): whether
  // its object file, of which `st` is an fstat, was verified as it is now.
  bool VerifiedBefore(const Hash& id, const struct stat& st);
  // Records that the object file of `id`, as `st` describes it, holds the
  // right bytes. Best effort: a failure only means hashing it again later.
  void RememberVerified(const Hash& id, const struct stat& st);

  const LocalLayout& layout() const { return layout_; }
  // This instance's name in tmp/ (pid and random nonce).
  const std::string& owner() const { return owner_; }

 private:
  LocalObjectStore(LocalLayout layout, core::Env* env, LocalObjectStoreOptions options,
                   std::string owner);

  Status CreateLayout();
  // Creates and locks tmp/<owner>.lock, holding tmp.lock shared meanwhile.
  Status AcquireOwnerLock();
  // Removes temp files of instances that no longer hold their lock, holding
  // tmp.lock exclusively. Best effort: a failure, or tmp.lock being busy,
  // leaves garbage for a later open, never breaks the store.
  void CleanStaleTemps();
  Status WriteTemp(const std::string& tmp, std::string_view data);
  Status RenameIntoPlace(const std::string& tmp, const Hash& id, const std::string& path);
  // Put without checking `id` (the caller computed it from `data`).
  Status Store(const Hash& id, ObjectKind kind, std::string_view data);
  void MarkPending(const Hash& id);
  // Ok if `data` hashes to `id`; otherwise quarantines the file at `path`
  // and returns Corruption.
  Status Verify(const Hash& id, ObjectKind kind, const std::string& path, std::string_view data);
  // A read error as Get reports it: NotFound naming the object, or `s`.
  Status NotFoundOr(const Status& s, const Hash& id, ObjectKind kind) const;
  void Quarantine(const Hash& id, const std::string& path);

  const LocalLayout layout_;
  core::Env* const env_;
  const LocalObjectStoreOptions options_;
  const std::string owner_;
  std::unique_ptr<core::FileLock> owner_lock_;
  std::atomic<uint64_t> next_temp_{0};

  // Lock order: flush_mu_ before mu_.
  std::mutex flush_mu_;                                 // serializes Flush()
  std::mutex mu_;                                       // guards the pending set below
  std::unordered_set<Hash, core::HashHasher> pending_;  // Put, not yet durable
  std::bitset<256> pending_dirs_;                       // objects/<xx> to fsync
  // Chunks this instance wrote: they get the verification memo once durable.
  std::unordered_set<Hash, core::HashHasher> written_chunks_;
};

}  // namespace snapvol::store
