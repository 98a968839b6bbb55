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
// Not thread-safe: guarded by View::mu_ like the nodes themselves.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

#include "driver/fs/node.h"

namespace snapvol::fs {

class InodeTable {
 public:
  InodeTable() = default;

  // Takes ownership; assigns the next inode number (the root gets kRootIno).
  Node* Add(std::unique_ptr<Node> node);
  Node* Get(Ino ino) const;
  Node* root() const { return Get(kRootIno); }

  void Ref(Node* node) { ++node->nlookup; }
  // Subtracts `n`; returns true if the count reached zero.
  bool Forget(Node* node, uint64_t n);
  // Removes and destroys the node. Never the root.
  void Erase(Node* node);

  size_t size() const { return nodes_.size(); }
  Ino next_ino() const { return next_; }

  template <typename Fn>
  void ForEach(Fn fn) const {
    for (const auto& [ino, node] : nodes_) fn(node.get());
  }

 private:
  std::unordered_map<Ino, std::unique_ptr<Node>> nodes_;
  Ino next_ = kRootIno;
};

}  // namespace snapvol::fs
