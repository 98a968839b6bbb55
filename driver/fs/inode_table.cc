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

Node* InodeTable::Add(std::unique_ptr<Node> node) {
  node->ino = next_++;
  Node* raw = node.get();
  nodes_.emplace(raw->ino, std::move(node));
  return raw;
}

Node* InodeTable::Get(Ino ino) const {
  auto it = nodes_.find(ino);
  return it == nodes_.end() ? nullptr : it->second.get();
}

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
  nodes_.erase(node->ino);
}

}  // namespace snapvol::fs
