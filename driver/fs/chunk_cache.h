// ChunkCache: verified chunk data for reads (S10). A chunk is checked
// against its SHA-256 once when it enters the cache and is served from the
// cache afterwards:
//  - with the embedded (local) store, the object file itself is the cache
//    entry: it is read and hashed once, then its open descriptor is kept so
//    reads are served by pread/splice without copying (zero-copy);
//  - with any other backend, the verified bytes are kept in memory.
// A chunk that fails verification is reported as Corruption (the mount
// answers EIO) and is handed to the store's Get(), which quarantines it, so
// a later read refetches instead of serving wrong bytes.
//
// Thread-safe. Bounded by open descriptors and by bytes, LRU.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "driver/core/hash.h"
#include "driver/core/result.h"
#include "driver/store/object_store.h"
#include "driver/volume/worker_pool.h"

namespace snapvol::fs {

using core::Hash;
using core::Result;
using core::Status;

// One verified chunk: either an open descriptor of its object file (fd >= 0)
// or its bytes. Immutable once published.
struct ChunkData {
  ChunkData() = default;
  ChunkData(const ChunkData&) = delete;
  ChunkData& operator=(const ChunkData&) = delete;
  ~ChunkData();
  int fd = -1;
  std::string bytes;
  uint64_t size = 0;
};

class ChunkCache {
 public:
  // `objects` must outlive the cache.
  ChunkCache(store::ObjectStore* objects, size_t max_files, size_t max_bytes);
  ~ChunkCache();

  // The chunk named `h`, `size` bytes long. Corruption if its bytes do not
  // hash to `h` or its size differs; NotFound if absent.
  Result<std::shared_ptr<const ChunkData>> Get(const Hash& h, uint64_t size);
  // Starts loading (and verifying) a chunk in the background if it is not
  // cached or loading yet, so a sequential reader finds the next chunk
  // ready. Best effort; errors surface on the later Get.
  void Prefetch(const Hash& h, uint64_t size);

  struct Stats {
    uint64_t hits = 0, misses = 0, corrupt = 0;
  };
  Stats stats() const;

 private:
  Result<std::shared_ptr<const ChunkData>> Load(const Hash& h, uint64_t size);
  void Insert(const Hash& h, std::shared_ptr<const ChunkData> data);

  store::ObjectStore* const objects_;
  const size_t max_files_;
  const size_t max_bytes_;

  struct Slot {
    std::shared_ptr<const ChunkData> data;
    std::list<Hash>::iterator lru;
  };
  // A chunk being loaded: concurrent readers of it (the kernel sends many
  // read-ahead requests for one chunk at once) wait instead of verifying it
  // again.
  struct Loading {
    bool done = false;
    Status status;
    std::shared_ptr<const ChunkData> data;
  };

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable loaded_;
  std::unordered_map<Hash, std::shared_ptr<Loading>, core::HashHasher> loading_;
  std::list<Hash> lru_;
  std::unordered_map<Hash, Slot, core::HashHasher> chunks_;
  size_t files_ = 0, bytes_ = 0;
  uint64_t hits_ = 0, misses_ = 0, corrupt_ = 0;
  // Last: destroyed first, finishing prefetches that use the members above.
  std::unique_ptr<volume::WorkerPool> pool_;
};

}  // namespace snapvol::fs
