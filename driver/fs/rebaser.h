// Rebaser: moves a View onto a newer snapshot of its volume (reload, S4;
// docs/mount.md "Reload"). It walks the nodes the mount knows; directories
// whose base tree did not change are not revisited below. Directories keep
// their inode numbers (their listing and attributes are invalidated); a
// file whose entry changed, and every committed-but-local node, is detached
// from its name (stale: ESTALE until the kernel looks the name up again)
// and the kernel's entry for that name invalidated, so the next lookup
// creates a new node with a new inode number — open handles keep the old
// node and its content, files open for writing stay where they are.
// Pending changes stay on top; a directory deleted by another writer that
// still holds pending changes is kept as a new directory with only those
// (and its own attributes and xattrs, which the head no longer has).
//
// A short-lived helper of the View (a friend: it works on the view's nodes
// and counters). The caller holds View::mu_ throughout (tree pages are read
// under it: a known gap, docs/mount.md).
#pragma once

#include <string>

#include "driver/core/result.h"
#include "driver/volume/engine.h"
#include "snapvol_objects.pb.h"

namespace snapvol::fs {

class View;
struct Node;
struct Invalidations;

class Rebaser {
 public:
  explicit Rebaser(View* view) : view_(view) {}

  // Rebases the whole view onto `snap`; returns what the kernel must drop.
  core::Result<Invalidations> Rebase(const volume::Snapshot& snap);

 private:
  // `d` onto base entry `entry` (null: it is gone from the snapshot).
  core::Status RebaseDir(Node* d, const objects::Entry* entry, Invalidations* inv);
  // Whether anything below `d` is pending or open for writing.
  bool PendingBelow(const Node* d) const;
  // Keeps only the pending parts below `d` (gone from the snapshot), as
  // local state.
  core::Status PruneToPending(Node* d, Invalidations* inv);
  void DetachName(Node* dir, const std::string& name, Invalidations* inv);
  // Local creates minus deletes below `d`.
  int64_t CountPendingDelta(const Node* d) const;

  View* const view_;
};

}  // namespace snapvol::fs
