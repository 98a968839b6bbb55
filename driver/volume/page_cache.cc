#include "driver/volume/page_cache.h"

#include "driver/volume/tree_page.h"

namespace snapvol::volume {

core::Result<PagePtr> PageCache::Get(const core::Hash& h, int64_t expect_level) {
  auto it = map_.find(h);
  if (it != map_.end()) {
    if (expect_level >= 0 && it->second.page->level() != expect_level) {
      return core::Status::Corruption("tree page " + h.Hex() + " has an unexpected level " +
                                      std::to_string(it->second.page->level()));
    }
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second.page;
  }
  ASSIGN_OR_RETURN(objects::TreePage page, LoadTreePage(*objects_, h, expect_level));
  auto shared = std::make_shared<const objects::TreePage>(std::move(page));
  size_t bytes = shared->ByteSizeLong();
  while (!lru_.empty() && used_ + bytes > budget_) {
    auto victim = map_.find(lru_.back());
    used_ -= victim->second.bytes;
    map_.erase(victim);
    lru_.pop_back();
  }
  lru_.push_front(h);
  map_.emplace(h, Slot{shared, bytes, lru_.begin()});
  used_ += bytes;
  return PagePtr(shared);
}

}  // namespace snapvol::volume
