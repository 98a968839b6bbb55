// InodeTable: owns every Node by inode number and applies the kernel's
// lookup-count rules (as in libfuse example/passthrough_hp.cc):
//   - every reply that hands the kernel an entry (lookup, create, mkdir,
//     mknod, symlink, link, readdirplus) counts +1 (Ref);
//   - forget subtracts n; a count going below zero is a bug and aborts;
//   - at zero the node is erased only if nothing else holds it (no open
//     handle, no local state, not reachable as a kept child) — the caller
//     re-checks that under the table's lock before calling Erase;
//   - the root is pinned and never erased.
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
  // Removes and destroys the node. Never the root.
  void Erase(Node* node);

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
};

}  // namespace snapvol::fs
