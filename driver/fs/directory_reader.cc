#include "driver/fs/directory_reader.h"

#include <algorithm>
#include <string>
#include <vector>

#include "driver/fs/view.h"
#include "driver/volume/tree_page.h"

namespace snapvol::fs {
namespace {

// Inode number reported by readdir for a name the mount has no node for
// yet. High bit set so it never equals a real inode number.
uint64_t PseudoIno(Ino dir, const std::string& name) {
  return (std::hash<std::string>{}(name) ^ (dir * 0x9E3779B97F4A7C15ull)) | (1ull << 63);
}

}  // namespace

core::Status DirectoryReader::Read(Handle* h, uint64_t off, bool plus,
                                   const std::function<bool(const DirEntryOut&)>& add) {
  constexpr size_t kBatch = 256;
  View& v = *view_;
  uint64_t skip = 0;
  if (off != h->next_off) {
    // A seek (or a restart): list again from the beginning up to `off`.
    h->next_off = 0;
    h->last.clear();
    h->base_done = false;
    skip = off;
  }
  auto emit = [&](DirEntryOut out) -> bool {
    out.next_off = h->next_off + 1;
    if (skip > 0) {
      --skip;
      h->next_off = out.next_off;
      return true;
    }
    if (!add(out)) return false;
    h->next_off = out.next_off;
    return true;
  };
  {
    View::Lock lock(v.mu_);
    Node* d = h->node;
    if (h->next_off == 0) {
      DirEntryOut dot;
      dot.name = ".";
      dot.type = NodeType::kDir;
      dot.ino = d->ino;
      if (!emit(dot)) return Status::Ok();
    }
    if (h->next_off == 1) {
      DirEntryOut dotdot;
      dotdot.name = "..";
      dotdot.type = NodeType::kDir;
      dotdot.ino = d->parent != nullptr ? d->parent->ino : d->ino;
      if (!emit(dotdot)) return Status::Ok();
    }
  }
  for (;;) {
    TreeCache::Listing listing;
    const std::vector<const objects::Entry*>& batch = listing.entries;
    bool base_done = h->base_done || !h->tree || volume::IsEmptyTree(*h->tree);
    if (!base_done) {
      ASSIGN_OR_RETURN(listing, v.trees_->ListRefs(*h->tree, h->last, kBatch));
      base_done = batch.size() < kBatch;
    }
    View::Lock lock(v.mu_);
    Node* d = h->node;
    const auto& children = d->dir->children;
    // Merge base entries and the mount's children in name order, up to the
    // last base name of this batch (or everything when the base is done).
    struct Item {
      const std::string* name;
      const objects::Entry* base = nullptr;
      bool child = false;
    };
    std::vector<Item> items;
    auto cit = children.upper_bound(h->last);
    size_t bi = 0;
    while (bi < batch.size() ||
           (cit != children.end() && (base_done || cit->first <= batch.back()->name()))) {
      const bool have_child =
          cit != children.end() && (base_done || cit->first <= batch.back()->name());
      if (bi < batch.size() && (!have_child || batch[bi]->name() < cit->first)) {
        items.push_back(Item{&batch[bi]->name(), batch[bi], false});
        ++bi;
      } else if (bi < batch.size() && batch[bi]->name() == cit->first) {
        items.push_back(Item{&cit->first, batch[bi], true});
        ++bi;
        ++cit;
      } else {
        items.push_back(Item{&cit->first, nullptr, true});
        ++cit;
      }
    }
    const bool same_tree = h->tree == d->dir->tree;
    for (const Item& item : items) {
      const std::string name = *item.name;
      DirEntryOut out;
      out.name = name;
      Node* n = nullptr;
      if (item.child) {
        auto it = children.find(name);
        if (it == children.end()) continue;  // dropped meanwhile
        n = it->second.node;
        if (n == nullptr) {
          h->last = name;
          continue;  // whiteout
        }
      } else if (plus && same_tree && skip == 0) {
        // Build the node exactly as a lookup would (no lock release: the
        // entry is at hand).
        n = v.base_tree_.Bind(d, name, *item.base);
      }
      if (n != nullptr) {
        out.type = n->type;
        out.ino = n->ino;
        if (plus && skip == 0) out.plus = v.Referenced(n);
      } else {
        out.type = NodeTypeOf(item.base->type());
        out.ino = PseudoIno(d->ino, name);
      }
      if (!emit(out)) {
        if (out.plus) v.table_.Unref(n, 1);
        return Status::Ok();
      }
      h->last = name;
    }
    if (!batch.empty() && !base_done) h->last = std::max(h->last, batch.back()->name());
    if (base_done) {
      h->base_done = true;
      if (cit == children.end() || items.empty()) return Status::Ok();
    }
  }
}

}  // namespace snapvol::fs
