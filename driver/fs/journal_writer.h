// JournalWriter: builds the journal records of a mount's changes (S9) and
// appends them to the current generation. Recovery decodes them again
// (recovery.h, ReplayMountDir); the format is journal.h's and
// docs/mount.md "Journal, commit, recovery".
//
// Records name paths: a node with several names (hard links) is recorded
// at every name. The root is the empty path. A directory's own record is a
// MKDIR with its attributes and no tree (a PUT of its tree would, replayed,
// undo the changes below it), flagged `xattrs` when the mount changed its
// xattrs (then they are the whole set).
//
// "Recorded" marks a node's content as journaled in the current
// generation (Node::journaled_gen): a write appends a PUT only the first
// time a file changes in a generation.
//
// Without a journal (read-only mounts) every call is a no-op that
// succeeds. Thread-safety: as the View's nodes (the caller holds View::mu_);
// the Journal serializes appends itself.
#pragma once

#include "driver/core/result.h"
#include "driver/fs/journal.h"
#include "driver/fs/node.h"
#include "driver/volume/change_set.h"

namespace snapvol::fs {

class JournalWriter {
 public:
  // `journal` may be null; it must outlive the writer.
  explicit JournalWriter(Journal* journal) : journal_(journal) {}

  // A PUT (MKDIR for a directory) of the node at each of its names.
  Status Put(const Node* n);
  Status PutAt(const volume::Path& path, const Node* n);
  // Put, and mark the node's content as journaled in this generation.
  Status Record(Node* n);
  // Record unless this generation already holds the node's content.
  Status RecordOnce(Node* n);
  Status Delete(const volume::Path& path);
  Status Rename(const volume::Path& from, const volume::Path& to);
  // A SETATTR with the fields set in `attrs` at each of the node's names.
  Status SetAttr(const Node* n, const mount::JournalRecord& attrs);

  // fdatasync of the current generation.
  Status Sync();

 private:
  Status Append(mount::JournalRecord rec);

  Journal* const journal_;
};

}  // namespace snapvol::fs
