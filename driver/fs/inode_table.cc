#include "driver/fs/inode_table.h"

#include <cstdio>
#include <cstdlib>

namespace snapvol::fs {

InodeTable::InodeTable() { Resize(kMinCapacity); }

InodeTable::~InodeTable() {
  for (Node* n : slots_) delete n;
}

// Fibonacci hashing: consecutive inode numbers spread over the table.
size_t InodeTable::Home(Ino ino) const {
  return static_cast<size_t>((ino * 0x9E3779B97F4A7C15ull) >> shift_);
}

size_t InodeTable::Find(Ino ino) const {
  const size_t mask = slots_.size() - 1;
  size_t i = Home(ino);
  while (slots_[i] != nullptr && slots_[i]->ino != ino) i = (i + 1) & mask;
  return i;
}

void InodeTable::Resize(size_t capacity) {
  std::vector<Node*> old = std::move(slots_);
  slots_.assign(capacity, nullptr);
  shift_ = 64 - __builtin_ctzll(capacity);
  for (Node* n : old) {
    if (n != nullptr) slots_[Find(n->ino)] = n;
  }
}

Node* InodeTable::Add(std::unique_ptr<Node> node) {
  if ((size_ + 1) * 4 > slots_.size() * 3) Resize(slots_.size() * 2);
  node->ino = next_++;
  Node* raw = node.release();
  slots_[Find(raw->ino)] = raw;
  ++size_;
  return raw;
}

Node* InodeTable::Get(Ino ino) const { return slots_[Find(ino)]; }

bool InodeTable::Forget(Node* node, uint64_t n) {
  if (n > node->nlookup) {
    std::fprintf(stderr, "snapvol: forget of %llu below zero (%llu > %llu)\n",
                 static_cast<unsigned long long>(node->ino), static_cast<unsigned long long>(n),
                 static_cast<unsigned long long>(node->nlookup));
    std::abort();
  }
  node->nlookup -= n;
  return node->nlookup == 0;
}

void InodeTable::DropIfUnused(Node* n) {
  if (n == nullptr || n->ino == kRootIno) return;
  if (n->nlookup != 0 || n->opens != 0 || n->pins != 0) return;
  const bool attached = n->names() > 0;
  if (attached && n->kept) return;
  std::vector<Node*> orphans;
  if (n->dir != nullptr) {
    bool live_children = false;
    for (const auto& [name, c] : n->dir->children) live_children |= c.node != nullptr;
    if (attached && live_children) return;
    for (auto& [name, c] : n->dir->children) {
      Node* k = c.node;
      if (k == nullptr) continue;
      RemoveNamesIn(k, n);
      if (k->names() == 0) k->at_origin = false;
      orphans.push_back(k);
    }
    n->dir->children.clear();
  }
  std::vector<Node*> parents;
  auto unbind = [&](Node* dir, const std::string& name) {
    auto it = dir->dir->children.find(name);
    if (it != dir->dir->children.end() && it->second.node == n) dir->dir->children.erase(it);
    parents.push_back(dir);
  };
  if (n->parent != nullptr) unbind(n->parent, n->name);
  for (auto& [dir, name] : n->more_names) unbind(dir, name);
  RemoveLink(n);
  if (n->upper != nullptr && !attached) n->upper->Unlink();
  Erase(n);
  for (Node* p : parents) DropIfUnused(p);
  for (Node* k : orphans) DropIfUnused(k);
}

Node* InodeTable::LinkGroup(uint64_t link_id) const {
  if (link_id == 0) return nullptr;
  auto it = links_.find(link_id);
  return it == links_.end() ? nullptr : it->second;
}

void InodeTable::AddLink(Node* node) {
  if (node->link_id != 0) links_.try_emplace(node->link_id, node);
}

void InodeTable::RemoveLink(const Node* node) {
  auto it = links_.find(node->link_id);
  if (it != links_.end() && it->second == node) links_.erase(it);
}

void InodeTable::Erase(Node* node) {
  if (node->ino == kRootIno) return;
  size_t hole = Find(node->ino);
  if (slots_[hole] != node) return;
  delete node;
  --size_;
  // Backward shift: move later members of the probe run into the hole
  // unless that would put them before their home slot.
  const size_t mask = slots_.size() - 1;
  for (size_t j = (hole + 1) & mask; slots_[j] != nullptr; j = (j + 1) & mask) {
    const size_t home = Home(slots_[j]->ino);
    // Cyclic distances: may slot j's node move back to `hole`?
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = nullptr;
  if (slots_.size() > kMinCapacity && size_ * 16 < slots_.size() * 3) Resize(slots_.size() / 2);
}

}  // namespace snapvol::fs
