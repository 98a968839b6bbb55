#include "driver/fs/change_tracker.h"

namespace snapvol::fs {
namespace {

// Whether directory `d` holds a pending name or a dirty node (or is the
// dirty root).
bool HoldsPending(const Node* d) {
  if (d == nullptr || !d->is_dir()) return false;
  if (d->ino == kRootIno && d->dirty) return true;
  for (const auto& [name, c] : d->dir->children) {
    if (c.pending || (c.node != nullptr && c.node->dirty)) return true;
  }
  return false;
}

}  // namespace

void ChangeTracker::Bind(Node* dir, const std::string& name, Node* n) {
  auto& children = dir->dir->children;
  auto it = children.find(name);
  Child c;
  c.node = n;
  c.pending = true;
  c.replaced = it != children.end() && it->second.replaced;
  c.in_commit = it != children.end() && it->second.in_commit;
  c.seq = NextSeq();
  children[name] = c;
  AddName(n, dir, name);
  // A rename removes the last name before it binds the new one, which
  // unregistered the link group: its other names, looked up later, must
  // still find this node.
  table_->AddLink(n);
  n->stale = false;
  // Not MarkKept(n): it stops at a node already kept, and a kept node
  // moved here (rename) must make its new ancestors kept, or a commit that
  // re-publishes one of them from its base tree skips it (found by
  // view_random_test, seed 94: a committed file vanished with its parent's
  // rename).
  n->kept = true;
  MarkKept(dir);
  NoteDir(dir);
}

void ChangeTracker::Unbind(Node* dir, const std::string& name, Node* n) {
  auto& children = dir->dir->children;
  auto it = children.find(name);
  if (it != children.end()) {
    Child& c = it->second;
    if (c.pending && !c.replaced && !c.in_commit) {
      // Neither in the head nor on its way there: nothing to publish.
      children.erase(it);
    } else {
      // A name the running commit publishes keeps `replaced` as it is:
      // the Committer sets it if the commit lands, and drops the whiteout
      // if it does not.
      c.replaced = c.replaced || !c.pending;
      c.node = nullptr;
      c.pending = true;
      c.seq = NextSeq();
      MarkKept(dir);
      NoteDir(dir);
    }
  }
  RemoveNameOf(n, dir, name);
  if (n->names() == 0) {
    table_->RemoveLink(n);
    n->at_origin = false;
  }
}

void ChangeTracker::MarkKept(Node* n) {
  if (n == nullptr || n->kept) return;
  n->kept = true;
  MarkKept(n->parent);
  for (auto& [dir, name] : n->more_names) MarkKept(dir);
}

void ChangeTracker::MarkDirty(Node* n) {
  n->dirty = true;
  n->seq = NextSeq();
  MarkKept(n);
  if (n->ino == kRootIno) NoteDir(n);
  if (n->parent != nullptr) NoteDir(n->parent);
  for (auto& [dir, name] : n->more_names) NoteDir(dir);
}

uint64_t ChangeTracker::PendingCount() const {
  uint64_t count = 0;
  for (Ino ino : dirs_) {
    const Node* d = table_->Get(ino);
    if (d == nullptr || !d->is_dir() || !Attached(d)) continue;
    if (d->ino == kRootIno && d->dirty) ++count;
    for (const auto& [name, c] : d->dir->children) {
      if (c.pending || (c.node != nullptr && c.node->dirty)) ++count;
    }
  }
  return count;
}

void ChangeTracker::DropSettledDirs() {
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    it = HoldsPending(table_->Get(*it)) ? std::next(it) : dirs_.erase(it);
  }
}

}  // namespace snapvol::fs
