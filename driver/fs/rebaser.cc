#include "driver/fs/rebaser.h"

#include <vector>

#include "driver/fs/view.h"
#include "driver/volume/tree_page.h"
#include "driver/volume/tree_reader.h"

namespace snapvol::fs {

using objects::Entry;

bool Rebaser::PendingBelow(const Node* d) const {
  for (const auto& [name, c] : d->dir->children) {
    if (c.pending) return true;
    const Node* n = c.node;
    if (n == nullptr) continue;
    if (n->dirty || n->writers > 0) return true;
    if (n->is_dir() && n->kept && PendingBelow(n)) return true;
  }
  return false;
}

void Rebaser::DetachName(Node* dir, const std::string& name, Invalidations* inv) {
  auto it = dir->dir->children.find(name);
  if (it == dir->dir->children.end()) return;
  Node* n = it->second.node;
  dir->dir->children.erase(it);
  inv->entries.emplace_back(dir->ino, name);
  if (n == nullptr) return;
  RemoveNameOf(n, dir, name);
  if (n->names() == 0) {
    view_->table_.RemoveLink(n);
    n->at_origin = false;
    n->stale = true;
  }
  view_->table_.DropIfUnused(n);
}

Status Rebaser::PruneToPending(Node* d, Invalidations* inv) {
  View& v = *view_;
  std::vector<std::string> names;
  for (const auto& [name, c] : d->dir->children) names.push_back(name);
  for (const std::string& name : names) {
    auto it = d->dir->children.find(name);
    Child& c = it->second;
    Node* n = c.node;
    if (n == nullptr) {
      d->dir->children.erase(it);
      continue;
    }
    const bool keep = c.pending || n->dirty || n->writers > 0 || (n->is_dir() && PendingBelow(n));
    if (!keep) {
      DetachName(d, name, inv);
      continue;
    }
    if (n->entry == nullptr && n->at_origin && d->dir->tree) {
      ASSIGN_OR_RETURN(std::optional<Entry> e, v.base_tree_.Lookup(*d->dir->tree, name));
      n->entry = e ? std::make_unique<Entry>(std::move(*e)) : std::make_unique<Entry>();
    }
    if (n->entry == nullptr) n->entry = std::make_unique<Entry>();
    n->at_origin = false;
    c.pending = true;
    c.seq = v.changes_.NextSeq();
    n->dirty = true;
    n->seq = v.changes_.NextSeq();
    if (n->is_dir()) {
      RETURN_IF_ERROR(PruneToPending(n, inv));
      n->dir->tree.reset();
      ++n->dir->tree_gen;
      inv->inodes.push_back(n->ino);
    }
    v.changes_.NoteDir(d);
  }
  return Status::Ok();
}

Status Rebaser::RebaseDir(Node* d, const Entry* entry, Invalidations* inv) {
  View& v = *view_;
  std::optional<Hash> new_tree;
  if (entry != nullptr) {
    ASSIGN_OR_RETURN(Hash t, volume::TreeOf(*entry));
    new_tree = volume::IsEmptyTree(t) ? volume::EmptyTreeHash() : t;
    if (!d->dirty) {
      Attr a = AttrOf(*entry);
      if (a.mode != d->attr.mode || a.uid != d->attr.uid || a.gid != d->attr.gid ||
          a.mtime_ns != d->attr.mtime_ns) {
        inv->inodes.push_back(d->ino);
      }
      if ((a.mode != d->attr.mode || a.uid != d->attr.uid || a.gid != d->attr.gid) &&
          (a.mode & 0111) != 0111) {
        // Not searchable by everybody any more: cached names must be
        // looked up again (NamesToRecheck).
        for (const auto& [name, c] : d->dir->children) {
          if (c.node != nullptr) inv->expire.emplace_back(d->ino, name);
        }
      }
      d->attr = a;
      // The root holds its entry (View::Attach); other directories load
      // theirs from the parent's tree on demand.
      d->entry = d->ino == kRootIno ? std::make_unique<Entry>(*entry) : nullptr;
      d->base_xattrs = entry->xattrs_size() > 0;
    }
    d->fp = Fingerprint(*entry);
    d->dir->subtree_inodes = entry->subtree_inodes();
    d->dir->subtree_bytes = entry->subtree_bytes();
  }
  // Directories gone from the new tree that keep pending changes take
  // their entry (xattrs) from the old one.
  const std::optional<Hash> old_tree = d->dir->tree;
  if (new_tree != d->dir->tree) {
    d->dir->tree = new_tree;
    ++d->dir->tree_gen;
    inv->inodes.push_back(d->ino);
  }
  std::vector<std::string> names;
  for (const auto& [name, c] : d->dir->children) names.push_back(name);
  for (const std::string& name : names) {
    auto it = d->dir->children.find(name);
    if (it == d->dir->children.end()) continue;
    Child& c = it->second;
    Node* n = c.node;
    if (n == nullptr) {
      if (!c.pending) d->dir->children.erase(it);
      continue;
    }
    std::optional<Entry> ne;
    if (d->dir->tree) {
      ASSIGN_OR_RETURN(ne, v.base_tree_.Lookup(*d->dir->tree, name));
    }
    if (n->is_dir()) {
      if (c.pending) continue;  // created or moved here: keeps its own content
      if (ne && ne->type() == objects::DIRECTORY) {
        n->at_origin = true;
        RETURN_IF_ERROR(RebaseDir(n, &*ne, inv));
        continue;
      }
      if (n->dirty || PendingBelow(n)) {
        // Gone from the new snapshot, but holds changes not committed yet:
        // keep those in a directory of its own, with its own attributes and
        // xattrs (the head no longer has them).
        RETURN_IF_ERROR(PruneToPending(n, inv));
        if (n->entry == nullptr && n->at_origin && old_tree) {
          ASSIGN_OR_RETURN(std::optional<Entry> old, v.base_tree_.Lookup(*old_tree, name));
          if (old) n->entry = std::make_unique<Entry>(std::move(*old));
        }
        if (n->entry == nullptr) n->entry = std::make_unique<Entry>();
        n->entry->set_type(objects::DIRECTORY);
        n->at_origin = false;
        n->dir->tree.reset();
        ++n->dir->tree_gen;
        c.pending = true;
        c.replaced = true;
        c.seq = v.changes_.NextSeq();
        n->dirty = true;
        n->seq = v.changes_.NextSeq();
        v.changes_.NoteDir(d);
        inv->inodes.push_back(n->ino);
        continue;
      }
      DetachName(d, name, inv);
      continue;
    }
    if (c.pending || n->dirty || n->writers > 0) continue;
    if (n->at_origin && n->upper == nullptr && ne && Fingerprint(*ne) == n->fp) continue;
    DetachName(d, name, inv);
  }
  bool kept = d->ino == kRootIno || !d->at_origin || d->dirty;
  for (auto& [name, c] : d->dir->children) {
    Node* n = c.node;
    if (n == nullptr) {
      kept = true;
      continue;
    }
    if (!n->is_dir()) {
      n->kept = !n->at_origin || n->dirty || n->upper != nullptr || n->entry != nullptr;
    }
    kept |= n->kept || c.pending;
  }
  d->kept = kept;
  return Status::Ok();
}

int64_t Rebaser::CountPendingDelta(const Node* d) const {
  int64_t delta = 0;
  for (const auto& [name, c] : d->dir->children) {
    if (c.pending) delta += c.node == nullptr ? (c.replaced ? -1 : 0) : (c.replaced ? 0 : 1);
    if (c.node != nullptr && c.node->is_dir() && c.node->kept) delta += CountPendingDelta(c.node);
  }
  return delta;
}

Result<Invalidations> Rebaser::Rebase(const volume::Snapshot& snap) {
  View& v = *view_;
  Invalidations inv;
  Node* root = v.table_.root();
  const Entry root_entry = snap.root();
  RETURN_IF_ERROR(RebaseDir(root, &root_entry, &inv));
  v.base_ = snap;
  v.inodes_.Rebase(snap.inodes(), CountPendingDelta(root));
  return inv;
}

}  // namespace snapvol::fs
