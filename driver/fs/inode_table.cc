#include "driver/fs/inode_table.h"

#include <cstdio>
#include <cstdlib>

namespace snapvol::fs {

NodeType NodeTypeOf(objects::EntryType t) {
  switch (t) {
    case objects::DIRECTORY:
      return NodeType::kDir;
    case objects::SYMLINK:
      return NodeType::kSymlink;
    case objects::FIFO:
      return NodeType::kFifo;
    case objects::SOCKET:
      return NodeType::kSocket;
    case objects::CHAR_DEVICE:
      return NodeType::kCharDevice;
    case objects::BLOCK_DEVICE:
      return NodeType::kBlockDevice;
    default:
      return NodeType::kFile;
  }
}

objects::EntryType EntryTypeOf(NodeType t) {
  switch (t) {
    case NodeType::kDir:
      return objects::DIRECTORY;
    case NodeType::kSymlink:
      return objects::SYMLINK;
    case NodeType::kFifo:
      return objects::FIFO;
    case NodeType::kSocket:
      return objects::SOCKET;
    case NodeType::kCharDevice:
      return objects::CHAR_DEVICE;
    case NodeType::kBlockDevice:
      return objects::BLOCK_DEVICE;
    case NodeType::kFile:
      break;
  }
  return objects::FILE;
}

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
