#include "driver/volume/tree_page.h"

#include <algorithm>

#include "driver/store/object_codec.h"

namespace snapvol::volume {
namespace {

size_t VarintBytes(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

}  // namespace

size_t RepeatedFieldBytes(size_t message_bytes) {
  // One tag byte (fields 2 and 3 of TreePage) and the length prefix.
  return 1 + VarintBytes(message_bytes) + message_bytes;
}

size_t EmptyPageBytes(uint32_t level) {
  constexpr size_t kMagic = 4;
  return kMagic + (level == 0 ? 0 : 1 + VarintBytes(level));
}

core::Result<objects::TreePage> LoadTreePage(store::ObjectStore& objects, const core::Hash& h,
                                             int64_t expect_level) {
  // Deeper than any real tree (fanout >= 2 would need 2^64 entries); stops a
  // malformed page graph from looping.
  constexpr uint32_t kMaxLevel = 64;
  ASSIGN_OR_RETURN(objects::TreePage page, store::GetTreePage(objects, h));
  if (page.level() > kMaxLevel || (expect_level >= 0 && page.level() != expect_level)) {
    return core::Status::Corruption("tree page " + h.Hex() + " has an unexpected level " +
                                    std::to_string(page.level()));
  }
  if ((page.level() > 0 && page.entries_size() > 0) ||
      (page.level() == 0 && page.children_size() > 0)) {
    return core::Status::Corruption("tree page " + h.Hex() + " mixes entries and children");
  }
  return page;
}

const core::Hash& EmptyTreeHash() {
  static const core::Hash h = core::Hash::Of(store::EncodeTreePage(objects::TreePage()));
  return h;
}

PageGetter DirectPages(store::ObjectStore& objects) {
  return [&objects](const core::Hash& h, int64_t level) -> core::Result<PagePtr> {
    ASSIGN_OR_RETURN(objects::TreePage page, LoadTreePage(objects, h, level));
    return PagePtr(std::make_shared<const objects::TreePage>(std::move(page)));
  };
}

int ChildFor(const objects::TreePage& page, const std::string& name) {
  auto it = std::upper_bound(
      page.children().begin(), page.children().end(), name,
      [](const std::string& n, const objects::PageRef& r) { return n < r.first_name(); });
  return static_cast<int>(it - page.children().begin()) - 1;
}

core::Result<std::optional<objects::Entry>> LookupInTree(const core::Hash& tree,
                                                         const std::string& name,
                                                         const PageGetter& pages) {
  using Found = std::optional<objects::Entry>;
  if (IsEmptyTree(tree)) return Found();
  ASSIGN_OR_RETURN(PagePtr page, pages(tree, -1));
  while (page->level() > 0) {
    int i = ChildFor(*page, name);
    if (i < 0) return Found();
    ASSIGN_OR_RETURN(core::Hash h, store::HashField(page->children(i).hash(), "tree page"));
    ASSIGN_OR_RETURN(page, pages(h, page->level() - 1));
  }
  const auto& entries = page->entries();
  auto it =
      std::lower_bound(entries.begin(), entries.end(), name,
                       [](const objects::Entry& e, const std::string& n) { return e.name() < n; });
  if (it == entries.end() || it->name() != name) return Found();
  return Found(*it);
}

}  // namespace snapvol::volume
