// PageCache: decoded tree pages by hash, so an editor that looks up many
// names in one directory (a bulk put) decodes each page once. Pages are
// immutable (named by their SHA-256), so entries never go stale. Bounded by
// the pages' encoded size; least recently used pages go first.
// Not thread-safe: one cache per TreeEditor.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <unordered_map>

#include "driver/core/hash.h"
#include "driver/core/result.h"
#include "driver/store/object_store.h"
#include "driver/volume/tree_page.h"
#include "snapvol_objects.pb.h"

namespace snapvol::volume {

class PageCache {
 public:
  static constexpr size_t kDefaultBudget = 64 << 20;

  explicit PageCache(store::ObjectStore* objects, size_t budget_bytes = kDefaultBudget)
      : objects_(objects), budget_(budget_bytes) {}

  // The page `h`, checked like LoadTreePage (expect_level < 0: any level).
  core::Result<PagePtr> Get(const core::Hash& h, int64_t expect_level);

  size_t size() const { return map_.size(); }

  // This cache as a PageGetter; valid while the cache lives.
  PageGetter Getter() {
    return [this](const core::Hash& h, int64_t level) { return Get(h, level); };
  }

 private:
  struct Slot {
    PagePtr page;
    size_t bytes;
    std::list<core::Hash>::iterator lru;
  };

  store::ObjectStore* objects_;
  size_t budget_;
  size_t used_ = 0;
  std::list<core::Hash> lru_;  // most recent first
  std::unordered_map<core::Hash, Slot, core::HashHasher> map_;
};

}  // namespace snapvol::volume
