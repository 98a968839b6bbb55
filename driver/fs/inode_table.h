// InodeTable: owns every Node by inode number, the index of hard-link
// groups (link_id -> the node loaded for it), and applies the kernel's
// lookup-count rules (as in libfuse example/passthrough_hp.cc):
//   - every reply that hands the kernel an entry (lookup, create, mkdir,
//     mknod, symlink, link, readdirplus) counts +1 (Ref);
//   - forget subtracts n (Unref); a count going below zero is a bug and
//     aborts;
//   - at zero the node is erased only if nothing else holds it (no kernel
//     reference, open handle or Pin; not attached while it holds local
//     state or live children) — DropIfUnused re-checks that, under the
//     view's lock, each time something lets go of the node (forget,
//     release, the end of a Pin, a name removed);
//   - the root is pinned and never erased.
// Dropping a directory unbinds its children, which may drop them in turn.
// Inode numbers are never reused within a mount, so the generation is 0.
//
// Memory: the table holds a node for every inode the kernel caches (1M
// after a `find` over 1M files), so it is an open-addressing hash of node
// pointers (linear probing, backward-shift erase, no tombstones) kept
// between 3/16 and 3/4 full: 11-43 bytes per node instead of the ~40 of a
// std::unordered_map node plus its bucket. It shrinks again when the kernel
// forgets most nodes.
//
// Not thread-safe: guarded by View::mu_ like the nodes themselves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "driver/fs/node.h"

namespace snapvol::fs {

class InodeTable {
 public:
  InodeTable();
  ~InodeTable();
  InodeTable(const InodeTable&) = delete;
  InodeTable& operator=(const InodeTable&) = delete;

  // Takes ownership; assigns the next inode number (the root gets kRootIno).
  Node* Add(std::unique_ptr<Node> node);
  Node* Get(Ino ino) const;
  Node* root() const { return Get(kRootIno); }

  void Ref(Node* node) { ++node->nlookup; }
  // Subtracts `n`; returns true if the count reached zero.
  bool Forget(Node* node, uint64_t n);
  // Forget, then DropIfUnused at zero: the kernel's forget and the undoing
  // of a reference the kernel never received.
  void Unref(Node* node, uint64_t n) {
    if (Forget(node, n)) DropIfUnused(node);
  }
  // Erases the node if nothing holds it any more (the rules above); its
  // upper file goes with it if it has no name. Null and the root: no-op.
  void DropIfUnused(Node* node);
  // Removes and destroys the node. Never the root.
  void Erase(Node* node);

  // Keeps a node alive while the view's lock is released; re-checks
  // whether it can be dropped when it goes out of scope (the lock must be
  // held again by then: declare it after the lock). Null: no-op.
  class Pin {
   public:
    Pin(InodeTable* table, Node* node) : table_(table), node_(node) {
      if (node_ != nullptr) ++node_->pins;
    }
    ~Pin() {
      if (node_ != nullptr) {
        --node_->pins;
        table_->DropIfUnused(node_);
      }
    }
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    Node* node() const { return node_; }

   private:
    InodeTable* table_;
    Node* node_;
  };

  // Hard-link groups: the node loaded for `link_id` (null if none).
  Node* LinkGroup(uint64_t link_id) const;
  // Registers `node` for its link_id unless one is registered (0: no-op).
  void AddLink(Node* node);
  // Unregisters `node` if it is the one registered for its link_id.
  void RemoveLink(const Node* node);

  size_t size() const { return size_; }
  Ino next_ino() const { return next_; }
  // Slots of the hash (for tests and memory accounting).
  size_t capacity() const { return slots_.size(); }

  // Calls fn(Node*) for every node, in no particular order. fn must not add
  // or erase nodes.
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (Node* n : slots_) {
      if (n != nullptr) fn(n);
    }
  }

 private:
  static constexpr size_t kMinCapacity = 16;  // a power of two

  size_t Home(Ino ino) const;
  // The slot holding `ino`, or the empty slot where it would go.
  size_t Find(Ino ino) const;
  void Resize(size_t capacity);

  std::vector<Node*> slots_;  // owned; nullptr = empty; size is a power of two
  size_t size_ = 0;
  int shift_ = 0;  // 64 - log2(capacity)
  Ino next_ = kRootIno;
  std::unordered_map<uint64_t, Node*> links_;  // link_id -> live node
};

}  // namespace snapvol::fs
