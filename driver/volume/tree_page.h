// Helpers shared by TreeReader and TreeEditor for directory B+tree pages:
// what one entry contributes to its directory's totals, a page's totals and
// encoded size, and the well-known empty page.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "driver/core/hash.h"
#include "driver/core/result.h"
#include "driver/store/object_store.h"
#include "snapvol_objects.pb.h"

namespace snapvol::volume {

using PagePtr = std::shared_ptr<const objects::TreePage>;
// Reads page `h`, checked like LoadTreePage; lets callers put a cache
// (PageCache) between the tree walks below and the object store.
using PageGetter = std::function<core::Result<PagePtr>(const core::Hash& h, int64_t level)>;

// Inodes an entry stands for: itself plus, for a directory, everything below.
inline uint64_t EntryInodes(const objects::Entry& e) {
  return 1 + (e.type() == objects::DIRECTORY ? e.subtree_inodes() : 0);
}

// File bytes an entry stands for: a file's size, a directory's subtree bytes.
inline uint64_t EntryBytes(const objects::Entry& e) {
  if (e.type() == objects::FILE) return e.size();
  if (e.type() == objects::DIRECTORY) return e.subtree_bytes();
  return 0;
}

// Bytes a message adds to its page when stored in a repeated field.
size_t RepeatedFieldBytes(size_t message_bytes);

// Encoded size (magic included) of a page with no entries or children.
size_t EmptyPageBytes(uint32_t level);

// Hash of the empty leaf page: the tree of every empty directory. Readers
// answer it without a fetch.
const core::Hash& EmptyTreeHash();

// True for the zero hash (a directory whose tree is not written yet) and
// the empty leaf page.
inline bool IsEmptyTree(const core::Hash& h) { return h.IsZero() || h == EmptyTreeHash(); }

// Fetches and decodes page `h`, checking its shape; `expect_level` < 0
// accepts any level (a root). Corruption for a malformed page.
core::Result<objects::TreePage> LoadTreePage(store::ObjectStore& objects, const core::Hash& h,
                                             int64_t expect_level);

// A PageGetter that reads straight from `objects` (no caching).
PageGetter DirectPages(store::ObjectStore& objects);

// The entry `name` in the directory B+tree rooted at `tree`, or nullopt:
// one page per level, chosen by PageRef.first_name.
core::Result<std::optional<objects::Entry>> LookupInTree(const core::Hash& tree,
                                                         const std::string& name,
                                                         const PageGetter& pages);

// Index of the child of interior `page` whose key range holds `name`: the
// last child with first_name <= name, or -1 if `name` sorts before all.
int ChildFor(const objects::TreePage& page, const std::string& name);

}  // namespace snapvol::volume
