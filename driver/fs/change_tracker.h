// ChangeTracker: which of a View's changes are pending (not yet committed)
// and the rules that keep the marks right (docs/mount.md "Which changes a
// commit takes"):
//   - every name binding (Child) and every node carries a change sequence
//     number that moves with each change (NextSeq); a commit publishes
//     what it planned and leaves pending whatever moved meanwhile;
//   - a binding made here is pending; removing a name the head may hold
//     (`replaced`) or a running commit publishes (`in_commit`) leaves a
//     pending whiteout, any other removal just forgets the name;
//   - a node holding local state, and every directory above it, is `kept`
//     (never dropped before a reload, InodeTable::DropIfUnused);
//   - the directories holding pending names or dirty nodes (and the root
//     when it is dirty) are listed, so that planning a commit and counting
//     pending changes visit only those.
//
// Thread-safety: guarded by View::mu_ like the nodes.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "driver/fs/inode_table.h"
#include "driver/fs/node.h"

namespace snapvol::fs {

class ChangeTracker {
 public:
  // `table` (the link index) must outlive the tracker.
  explicit ChangeTracker(InodeTable* table) : table_(table) {}

  uint64_t NextSeq() { return ++seq_; }

  // Binds `n` at (dir, name) as a pending change (create, link, rename's
  // new name); marks `n` and dir's ancestors kept.
  void Bind(Node* dir, const std::string& name, Node* n);
  // Removes `n`'s name (dir, name): a pending whiteout if the head may
  // hold the name, else forgotten. A node losing its last name leaves its
  // link group and its base entry (at_origin).
  void Unbind(Node* dir, const std::string& name, Node* n);
  // The node changed (attributes, content, xattrs).
  void MarkDirty(Node* n);
  // The node (and everything above it) holds local state.
  void MarkKept(Node* n);
  // `dir` holds pending names or dirty nodes.
  void NoteDir(const Node* dir) { dirs_.insert(dir->ino); }

  // Directories noted, in inode order (some may since have settled or
  // gone).
  const std::set<Ino>& dirs() const { return dirs_; }
  // Pending names and dirty nodes in attached directories (the root's own
  // change counts once).
  uint64_t PendingCount() const;
  // Forgets the noted directories that hold nothing pending any more.
  void DropSettledDirs();

 private:
  InodeTable* const table_;
  std::set<Ino> dirs_;
  uint64_t seq_ = 0;
};

}  // namespace snapvol::fs
