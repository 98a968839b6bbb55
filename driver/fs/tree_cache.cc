#include "driver/fs/tree_cache.h"

#include <algorithm>

#include "driver/store/object_codec.h"
#include "driver/volume/tree_page.h"
#include "driver/volume/tree_reader.h"

namespace snapvol::fs {
namespace {

using objects::Entry;
using objects::PageRef;
using objects::TreePage;

// The child whose key range holds `name`: the last child with first_name <=
// name, or -1 if `name` sorts before every child.
int ChildFor(const TreePage& page, const std::string& name) {
  auto it =
      std::upper_bound(page.children().begin(), page.children().end(), name,
                       [](const std::string& n, const PageRef& r) { return n < r.first_name(); });
  return static_cast<int>(it - page.children().begin()) - 1;
}

}  // namespace

TreeCache::TreeCache(store::ObjectStore* objects, size_t capacity_bytes)
    : objects_(objects),
      capacity_(capacity_bytes),
      pool_(std::make_unique<volume::WorkerPool>(2)) {}

TreeCache::~TreeCache() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  pool_.reset();
}

void TreeCache::ReadAhead(const Entry& e) {
  if (e.type() != objects::DIRECTORY) return;
  Result<Hash> h = volume::TreeOf(e);
  if (!h.ok() || volume::IsEmptyTree(*h)) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || pages_.count(*h) != 0 || queued_.count(*h) != 0 ||
        queued_.size() >= kMaxQueued) {
      return;
    }
    queued_.insert(*h);
  }
  pool_->Submit([this, h = *h] {
    bool skip;
    {
      std::lock_guard<std::mutex> lock(mu_);
      skip = stopping_ || pages_.count(h) != 0;
      if (!skip) ++read_ahead_;
    }
    // Errors are left for the reader that needs the page to see.
    if (!skip) (void)Page(h, -1);
    std::lock_guard<std::mutex> lock(mu_);
    queued_.erase(h);
    return 0;
  });
}

Result<TreeCache::PagePtr> TreeCache::Page(const Hash& h, int64_t level) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pages_.find(h);
    if (it != pages_.end()) {
      ++hits_;
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      return it->second.page;
    }
    ++misses_;
  }
  ASSIGN_OR_RETURN(TreePage page, volume::LoadTreePage(*objects_, h, level));
  auto shared = std::make_shared<const TreePage>(std::move(page));
  const size_t bytes = shared->SpaceUsedLong() + sizeof(Slot) + 64;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pages_.find(h);
  if (it != pages_.end()) return it->second.page;
  lru_.push_front(h);
  pages_.emplace(h, Slot{shared, bytes, lru_.begin()});
  bytes_ += bytes;
  while (bytes_ > capacity_ && lru_.size() > 1) {
    auto victim = pages_.find(lru_.back());
    bytes_ -= victim->second.bytes;
    pages_.erase(victim);
    lru_.pop_back();
  }
  return PagePtr(shared);
}

Result<std::optional<Entry>> TreeCache::Lookup(const Hash& tree, const std::string& name) {
  if (volume::IsEmptyTree(tree)) return std::optional<Entry>();
  ASSIGN_OR_RETURN(PagePtr page, Page(tree, -1));
  while (page->level() > 0) {
    int i = ChildFor(*page, name);
    if (i < 0) return std::optional<Entry>();
    ASSIGN_OR_RETURN(Hash h, store::HashField(page->children(i).hash(), "tree page"));
    ASSIGN_OR_RETURN(page, Page(h, page->level() - 1));
  }
  auto it = std::lower_bound(page->entries().begin(), page->entries().end(), name,
                             [](const Entry& e, const std::string& n) { return e.name() < n; });
  if (it == page->entries().end() || it->name() != name) return std::optional<Entry>();
  ReadAhead(*it);
  return std::optional<Entry>(*it);
}

Status TreeCache::ListFrom(const PagePtr& page, const std::string& after, size_t limit,
                           Listing* out) {
  if (page->level() == 0) {
    auto it = std::upper_bound(page->entries().begin(), page->entries().end(), after,
                               [](const std::string& n, const Entry& e) { return n < e.name(); });
    if (it != page->entries().end() && out->entries.size() < limit) out->pages.push_back(page);
    for (; it != page->entries().end() && out->entries.size() < limit; ++it) {
      out->entries.push_back(&*it);
    }
    return Status::Ok();
  }
  for (int i = std::max(ChildFor(*page, after), 0); i < page->children_size(); ++i) {
    if (out->entries.size() >= limit) break;
    ASSIGN_OR_RETURN(Hash h, store::HashField(page->children(i).hash(), "tree page"));
    ASSIGN_OR_RETURN(PagePtr child, Page(h, page->level() - 1));
    RETURN_IF_ERROR(ListFrom(child, after, limit, out));
  }
  return Status::Ok();
}

Result<TreeCache::Listing> TreeCache::ListRefs(const Hash& tree, const std::string& after,
                                               size_t limit) {
  Listing out;
  if (volume::IsEmptyTree(tree)) return out;
  ASSIGN_OR_RETURN(PagePtr page, Page(tree, -1));
  RETURN_IF_ERROR(ListFrom(page, after, std::max<size_t>(limit, 1), &out));
  for (const Entry* e : out.entries) ReadAhead(*e);
  return out;
}

Result<std::vector<Entry>> TreeCache::List(const Hash& tree, const std::string& after,
                                           size_t limit) {
  ASSIGN_OR_RETURN(Listing listing, ListRefs(tree, after, limit));
  std::vector<Entry> out;
  out.reserve(listing.entries.size());
  for (const Entry* e : listing.entries) out.push_back(*e);
  return out;
}

TreeCache::Stats TreeCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Stats{hits_, misses_, pages_.size(), bytes_, read_ahead_};
}

}  // namespace snapvol::fs
