// FileCache: node-local whole-file copies of committed content, so the
// kernel can serve a large file's reads from a plain local file (FUSE
// passthrough, docs/mount.md "Passthrough reads") at the speed of the file
// system below, page cache included, instead of in 4 KiB FUSE pages.
//
//   <state>/files/<key hex>              one copy, named by FileLayout::content_key()
//   <state>/files/.fill.<pid>.<n>        a copy being written
//
// A copy is made only from bytes the ChunkCache verified (S10), written to a
// temporary name, synced, marked complete with an xattr naming its identity
// (inode, size, mtime), then renamed into place, so a crash never leaves a
// partial copy under a key, and a copy changed in place later is dropped,
// never served. The directory is 0700 and copies 0400: they are readable
// only through the mount, with its permission checks. It is shared by every mount server of the
// host that uses the same state directory. The cache is bounded in bytes; the least recently opened
// copies go first (an open copy stays readable until closed). Copies are made in the background,
// never before a read is answered: the first reads of a file go through the mount as before.
//
// Files are created, written, synced, marked, renamed and removed through a
// core::Env (tests pass a FaultEnv); Open hands out a plain descriptor,
// since the kernel takes it as the backing file of passthrough reads.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "driver/core/env.h"
#include "driver/core/hash.h"
#include "driver/core/status.h"
#include "driver/fs/chunk_cache.h"
#include "driver/fs/file_layout.h"
#include "driver/volume/worker_pool.h"

namespace snapvol::fs {

class FileCache {
 public:
  // Files smaller than this are served by the mount: a copy would cost more
  // than it saves.
  static constexpr uint64_t kMinFileBytes = 1 << 20;
  // How long the destructor lets a running copy finish (a job that read a
  // file and ended at once still leaves its copy); queued ones are dropped.
  static constexpr int64_t kFinishNs = 10'000'000'000;

  // The default budget: a quarter of the file system holding `dir`.
  // SNAPVOL_FILE_CACHE_BYTES in the environment overrides it; 0 turns the
  // cache (and passthrough reads) off.
  static uint64_t BudgetFor(const std::string& dir);

  // `chunks` and `env` must outlive the cache. Creates `dir` if needed and
  // removes copies left half-written by servers that are gone.
  FileCache(std::string dir, uint64_t max_bytes, ChunkCache* chunks,
            core::Env* env = core::Env::Default());
  ~FileCache();  // waits for a running copy
  FileCache(const FileCache&) = delete;
  FileCache& operator=(const FileCache&) = delete;

  bool enabled() const { return max_bytes_ > 0; }
  const std::string& dir() const { return dir_; }
  std::string PathOf(const core::Hash& key) const;

  // A read-only descriptor of the copy of `layout`'s bytes, or -1 if there
  // is none. Marks the copy as recently used.
  int Open(const FileLayout& layout);

  // Copies `layout`'s bytes into the cache in the background, unless the
  // cache is off, the file is small, a copy exists or is being made, or the
  // file system is short of space. A copy that fails (a chunk missing or
  // corrupt) leaves nothing behind and is not tried again by this process.
  void Fill(std::shared_ptr<const FileLayout> layout);

  // Waits until no copy is queued or running (tests, benchmarks). The
  // destructor instead drops queued copies and gives a running one
  // kFinishNs to finish.
  void Drain();

  struct Stats {
    uint64_t hits = 0, misses = 0, fills = 0, fill_failures = 0, evictions = 0;
  };
  Stats stats() const;

 private:
  core::Status Copy(const FileLayout& layout, const std::string& tmp);
  void FillNow(const std::shared_ptr<const FileLayout>& layout);
  void Evict();
  void RemoveStaleTemporaries();

  const std::string dir_;
  uint64_t max_bytes_;  // 0: off
  ChunkCache* const chunks_;
  core::Env* const env_;
  std::atomic<uint64_t> next_tmp_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> stop_at_ns_{0};  // a running copy gives up then

  mutable std::mutex mu_;  // guards the members below
  std::condition_variable idle_;
  std::set<core::Hash> filling_;  // queued or running
  std::set<core::Hash> failed_;   // not tried again
  Stats stats_;

  // Last: destroyed first, finishing the copy that uses the members above.
  std::unique_ptr<volume::WorkerPool> pool_;
};

}  // namespace snapvol::fs
