#include "driver/fs/base_tree.h"

#include <vector>

#include "driver/volume/tree_page.h"
#include "driver/volume/tree_reader.h"

namespace snapvol::fs {

using objects::Entry;

std::unique_ptr<Node> BaseTree::NodeFromEntry(const Entry& e) {
  auto n = std::make_unique<Node>();
  n->type = NodeTypeOf(e.type());
  n->attr = AttrOf(e);
  n->link_id = e.link_id();
  n->fp = Fingerprint(e);
  n->base_xattrs = e.xattrs_size() > 0;
  if (n->type == NodeType::kDir) {
    n->dir = std::make_unique<DirState>();
    Result<Hash> tree = volume::TreeOf(e);
    if (tree.ok() && !volume::IsEmptyTree(*tree)) n->dir->tree = *tree;
    if (!n->dir->tree) n->dir->tree = volume::EmptyTreeHash();
    n->dir->subtree_inodes = e.subtree_inodes();
    n->dir->subtree_bytes = e.subtree_bytes();
  } else if (n->type == NodeType::kSymlink) {
    n->entry = std::make_unique<Entry>(e);
  }
  return n;
}

Node* BaseTree::Bind(Node* dir, const std::string& name, const Entry& e) {
  Node* n = table_->LinkGroup(e.link_id());
  if (n == nullptr) {
    n = table_->Add(NodeFromEntry(e));
    table_->AddLink(n);
  }
  AddName(n, dir, name);
  Child c;
  c.node = n;
  c.replaced = true;
  dir->dir->children.emplace(name, c);
  return n;
}

Result<Node*> BaseTree::Resolve(Lock& lock, Node* dir, const std::string& name) {
  for (;;) {
    auto& children = dir->dir->children;
    auto it = children.find(name);
    if (it != children.end()) return it->second.node;
    if (!dir->dir->tree || volume::IsEmptyTree(*dir->dir->tree)) return static_cast<Node*>(nullptr);
    const Hash tree = *dir->dir->tree;
    const uint64_t tree_gen = dir->dir->tree_gen;
    InodeTable::Pin pin(table_, dir);
    lock.unlock();
    Result<std::optional<Entry>> found = trees_->Lookup(tree, name);
    lock.lock();
    if (!found.ok()) return found.status();
    if (dir->dir->tree_gen != tree_gen) continue;
    it = children.find(name);
    if (it != children.end()) return it->second.node;
    if (!found->has_value()) return static_cast<Node*>(nullptr);
    return Bind(dir, name, **found);
  }
}

Status BaseTree::LoadEntry(Lock& lock, Node* n) {
  while (n->entry == nullptr) {
    if (!n->at_origin || n->parent == nullptr || !n->parent->dir->tree) {
      return Status::Internal("inode " + std::to_string(n->ino) + " has no entry");
    }
    Node* parent = n->parent;
    const Hash tree = *parent->dir->tree;
    const uint64_t tree_gen = parent->dir->tree_gen;
    const std::string name = n->name;
    InodeTable::Pin pin(table_, n);
    lock.unlock();
    Result<std::optional<Entry>> found = trees_->Lookup(tree, name);
    lock.lock();
    if (!found.ok()) return found.status();
    if (n->entry != nullptr) break;
    if (n->parent != parent || n->name != name || parent->dir->tree_gen != tree_gen) continue;
    if (!found->has_value()) {
      return Status::Internal("base entry of inode " + std::to_string(n->ino) + " vanished");
    }
    n->entry = std::make_unique<Entry>(std::move(**found));
  }
  return Status::Ok();
}

Result<std::shared_ptr<const FileLayout>> BaseTree::LoadLayout(Lock& lock, Node* n) {
  while (n->layout == nullptr && n->upper == nullptr) {
    InodeTable::Pin pin(table_, n);
    RETURN_IF_ERROR(LoadEntry(lock, n));
    const objects::Content content = n->entry->content();
    const uint64_t size = n->attr.size;
    lock.unlock();
    Result<std::shared_ptr<const FileLayout>> layout = FileLayout::Load(objects_, content, size);
    lock.lock();
    if (!layout.ok()) return layout.status();
    if (n->layout == nullptr && n->upper == nullptr) n->layout = std::move(*layout);
  }
  return n->layout;
}

Result<bool> BaseTree::DirIsEmpty(const Node* d) {
  for (const auto& [name, c] : d->dir->children) {
    if (c.node != nullptr) return false;
  }
  if (!d->dir->tree || volume::IsEmptyTree(*d->dir->tree)) return true;
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(std::vector<Entry> batch, trees_->List(*d->dir->tree, after, 1024));
    for (const Entry& e : batch) {
      auto it = d->dir->children.find(e.name());
      if (it == d->dir->children.end()) return false;  // a base entry not deleted here
    }
    if (batch.size() < 1024) return true;
    after = batch.back().name();
  }
}

}  // namespace snapvol::fs
