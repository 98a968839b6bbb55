// WriteLayer: the mount's upper files (data/<n> in its state directory,
// docs/mount.md "Write layer"): a new, empty one for a file created or
// truncated here (streaming into the store enabled, UpperStream), or a
// copy-up of a committed file's content on its first write-open (holes stay
// holes). Numbers are handed out once per mount, never reused.
//
// Thread-safety: guarded by View::mu_; CopyUp releases it around the copy
// and pins the node meanwhile.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "driver/core/env.h"
#include "driver/core/result.h"
#include "driver/fs/base_tree.h"
#include "driver/fs/chunk_cache.h"
#include "driver/fs/node.h"
#include "driver/fs/upper_file.h"

namespace snapvol::fs {

class WriteLayer {
 public:
  using Lock = std::unique_lock<std::mutex>;

  // All must outlive the WriteLayer; `data_dir` is unused by read-only
  // mounts (nothing is written).
  WriteLayer(std::string data_dir, store::ObjectStore* objects, ChunkCache* chunks,
             InodeTable* table, BaseTree* base, core::Env* env = core::Env::Default())
      : data_dir_(std::move(data_dir)),
        objects_(objects),
        chunks_(chunks),
        table_(table),
        base_(base),
        env_(env) {}

  // A new empty upper file that streams into the store while written front
  // to back.
  Result<std::shared_ptr<UpperFile>> NewEmpty();
  // Gives file `n` an upper file unless it has one: empty if `empty` (the
  // base xattrs are loaded first: the upper file replaces the content
  // only), else a copy of the first `limit` bytes of its base content. May
  // release the lock.
  Status CopyUp(Lock& lock, Node* n, bool empty, uint64_t limit);

 private:
  Result<std::shared_ptr<UpperFile>> NewFile(uint64_t id) const;

  const std::string data_dir_;
  store::ObjectStore* const objects_;
  ChunkCache* const chunks_;
  InodeTable* const table_;
  BaseTree* const base_;
  core::Env* const env_;
  uint64_t next_ = 1;  // the next upper file's number
};

}  // namespace snapvol::fs
