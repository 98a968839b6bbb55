// BaseTree: the view's reading side of its base snapshot — resolving a name
// in a directory (the names the mount knows, then the directory's base
// tree), giving base entries their nodes (one node per hard-link group),
// loading a node's base entry and a file's committed layout on demand.
//
// Tree pages and file indexes are read without the view's lock: calls that
// take a `Lock&` may release it while they read, pin the nodes they hold
// (InodeTable::Pin) and re-check what they found once they hold it again
// (a reload may have changed a directory's tree meanwhile: DirState::
// tree_gen). Everything else requires the lock held.
//
// Thread-safety: guarded by View::mu_ like the nodes; TreeCache and
// ObjectStore have their own locks, taken after View::mu_.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "driver/core/result.h"
#include "driver/fs/file_layout.h"
#include "driver/fs/inode_table.h"
#include "driver/fs/node.h"
#include "driver/fs/tree_cache.h"

namespace snapvol::fs {

class BaseTree {
 public:
  using Lock = std::unique_lock<std::mutex>;

  // All must outlive the BaseTree.
  BaseTree(InodeTable* table, TreeCache* trees, store::ObjectStore* objects)
      : table_(table), trees_(trees), objects_(objects) {}

  // A new node mirroring base entry `e` (not in the table yet).
  static std::unique_ptr<Node> NodeFromEntry(const objects::Entry& e);

  // The node bound to `name` in `dir`, or nullptr if there is none (absent
  // or a whiteout). May release the lock to read the base tree.
  Result<Node*> Resolve(Lock& lock, Node* dir, const std::string& name);
  // Gives base entry `e` at (dir, name) its node: the node of its hard-link
  // group if one is loaded (as another name of it), else a new one; records
  // it as dir's child. The name must not be bound yet.
  Node* Bind(Node* dir, const std::string& name, const objects::Entry& e);
  // Loads the node's base entry into node->entry. May release the lock.
  Status LoadEntry(Lock& lock, Node* n);
  // The committed layout of a file without an upper file, loaded once
  // while it is open (null once it has an upper file). May release the
  // lock.
  Result<std::shared_ptr<const FileLayout>> LoadLayout(Lock& lock, Node* n);
  // Whether directory `d` shows no entries. Reads base tree pages with the
  // lock held (only for directories the caller is about to remove).
  Result<bool> DirIsEmpty(const Node* d);
  // The base entry `name` of `tree` (lock held; reload reads this way).
  Result<std::optional<objects::Entry>> Lookup(const Hash& tree, const std::string& name) {
    return trees_->Lookup(tree, name);
  }

  TreeCache* trees() const { return trees_; }

 private:
  InodeTable* const table_;
  TreeCache* const trees_;
  store::ObjectStore* const objects_;
};

}  // namespace snapvol::fs
