// TreeCache: lookups and listings of directory trees (the B+tree of TreePage
// objects, format in snapvol_objects.proto) over a bounded LRU cache of
// decoded pages. The mount needs it because TreeReader decodes a page on
// every call: a `find` over a 1M-entry directory would decode each 1024-entry
// leaf a thousand times. Pages are immutable (named by their hash), so a
// cached page never goes stale; only memory bounds the cache.
//
// Read-ahead: a directory found by Lookup or listed by ListRefs is usually
// entered next (a path walk, `find`), so the root page of its tree is
// fetched on a background worker while the reply travels to the kernel and
// the next request comes back. Bounded (kMaxQueued fetches pending; more are
// dropped); pages fetched ahead are cached like any other.
//
// Thread-safe. Fetches run without the cache lock, so two threads missing on
// the same page may both fetch it (harmless: same bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "driver/core/hash.h"
#include "driver/core/result.h"
#include "driver/store/object_store.h"
#include "driver/volume/worker_pool.h"
#include "snapvol_objects.pb.h"

namespace snapvol::fs {

using core::Hash;
using core::Result;
using core::Status;

class TreeCache {
 public:
  // `objects` must outlive the cache. `capacity_bytes` bounds the decoded
  // pages kept (approximate, by protobuf SpaceUsedLong).
  TreeCache(store::ObjectStore* objects, size_t capacity_bytes);
  // Waits for a read-ahead in progress; drops the queued ones.
  ~TreeCache();

  // The entry `name` in the directory whose root page is `tree`, or nullopt.
  // Corruption if a page does not verify or decode.
  Result<std::optional<objects::Entry>> Lookup(const Hash& tree, const std::string& name);

  // Up to `limit` entries (at least 1) with names sorting after `after`
  // (bytewise; "" = from the start), in name order.
  Result<std::vector<objects::Entry>> List(const Hash& tree, const std::string& after,
                                           size_t limit);

  // The same entries without copying them: pointers into cached pages,
  // which `pages` keeps alive for as long as the listing lives (a listing
  // of small files copied their names, attributes and content references
  // once more per readdir).
  struct Listing {
    std::vector<std::shared_ptr<const objects::TreePage>> pages;
    std::vector<const objects::Entry*> entries;
  };
  Result<Listing> ListRefs(const Hash& tree, const std::string& after, size_t limit);

  struct Stats {
    uint64_t hits = 0, misses = 0;
    size_t pages = 0, bytes = 0;
    uint64_t read_ahead = 0;  // pages fetched by read-ahead
  };
  Stats stats() const;

 private:
  using PagePtr = std::shared_ptr<const objects::TreePage>;
  Result<PagePtr> Page(const Hash& h, int64_t level);
  Status ListFrom(const PagePtr& page, const std::string& after, size_t limit, Listing* out);
  // Queues a fetch of the root page of directory entry `e`'s tree (nothing
  // for other entries, empty trees, cached or queued pages, a full queue).
  void ReadAhead(const objects::Entry& e);

  static constexpr size_t kMaxQueued = 64;

  store::ObjectStore* const objects_;
  const size_t capacity_;

  struct Slot {
    PagePtr page;
    size_t bytes = 0;
    std::list<Hash>::iterator lru;
  };
  mutable std::mutex mu_;  // guards everything below
  std::list<Hash> lru_;    // front = most recently used
  std::unordered_map<Hash, Slot, core::HashHasher> pages_;
  size_t bytes_ = 0;
  uint64_t hits_ = 0, misses_ = 0, read_ahead_ = 0;
  std::unordered_set<Hash, core::HashHasher> queued_;  // read-ahead pending
  bool stopping_ = false;
  // Last member: destroyed first, while everything its tasks use is alive.
  std::unique_ptr<volume::WorkerPool> pool_;
};

}  // namespace snapvol::fs
