#include "driver/fs/node.h"

#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <functional>

#include "driver/fs/posix_error.h"

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

std::optional<NodeType> NodeTypeOfMode(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
    case 0:
      return NodeType::kFile;
    case S_IFIFO:
      return NodeType::kFifo;
    case S_IFSOCK:
      return NodeType::kSocket;
    case S_IFCHR:
      return NodeType::kCharDevice;
    case S_IFBLK:
      return NodeType::kBlockDevice;
    default:
      return std::nullopt;
  }
}

Attr AttrOf(const objects::Entry& e) {
  Attr a;
  a.mode = e.mode() & 07777;
  a.uid = e.uid();
  a.gid = e.gid();
  switch (e.type()) {
    case objects::FILE:
      a.size = e.size();
      break;
    case objects::SYMLINK:
      a.size = e.symlink_target().size();
      break;
    default:
      a.size = 0;
  }
  a.mtime_ns = a.ctime_ns = a.atime_ns = e.mtime_ns();
  a.rdev = e.rdev();
  return a;
}

uint64_t Fingerprint(const objects::Entry& e) {
  // One buffer per thread: readdirplus fingerprints every entry it binds.
  static thread_local std::string s;
  e.SerializeToString(&s);
  return std::hash<std::string>{}(s);
}

int64_t NowNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

volume::Path PathOf(const Node* dir) {
  volume::Path path;
  for (const Node* n = dir; n != nullptr && n->ino != kRootIno; n = n->parent) {
    path.push_back(n->name);
  }
  std::reverse(path.begin(), path.end());
  return path;
}

volume::Path ChildPath(const Node* dir, const std::string& name) {
  volume::Path p = PathOf(dir);
  p.push_back(name);
  return p;
}

bool Attached(const Node* n) {
  for (int depth = 0; n != nullptr && depth < 100000; ++depth) {
    if (n->ino == kRootIno) return true;
    n = n->parent;
  }
  return false;
}

objects::Entry EntryOf(const Node* n) {
  objects::Entry e = n->entry != nullptr ? *n->entry : objects::Entry();
  e.clear_name();
  e.set_type(EntryTypeOf(n->type));
  e.set_mode(n->attr.mode);
  e.set_uid(n->attr.uid);
  e.set_gid(n->attr.gid);
  e.set_mtime_ns(n->attr.mtime_ns);
  e.set_rdev(n->attr.rdev);
  e.set_link_id(n->link_id);
  switch (n->type) {
    case NodeType::kFile:
      e.set_size(n->attr.size);
      break;
    case NodeType::kSymlink:
      e.set_size(e.symlink_target().size());
      break;
    case NodeType::kDir:
      e.set_size(0);
      if (n->dir->tree) {
        e.set_tree(std::string(n->dir->tree->Bytes()));
        e.set_subtree_inodes(n->dir->subtree_inodes);
        e.set_subtree_bytes(n->dir->subtree_bytes);
      } else {
        e.clear_tree();
        e.set_subtree_inodes(0);
        e.set_subtree_bytes(0);
      }
      break;
    default:
      e.set_size(0);
  }
  return e;
}

core::Status CheckLive(const Node* n) {
  if (n->stale && n->names() == 0) return PosixError(ESTALE, "replaced by a reload");
  return core::Status::Ok();
}

core::Status CheckReachable(const Node* n, std::string_view what) {
  if (n->ino == kRootIno || n->names() > 0) return core::Status::Ok();
  RETURN_IF_ERROR(CheckLive(n));
  return PosixError(ENOENT, std::string(what) + " was removed");
}

void AddName(Node* n, Node* dir, const std::string& name) {
  if (n->parent == nullptr) {
    n->parent = dir;
    n->name = name;
  } else {
    n->more_names.emplace_back(dir, name);
  }
}

namespace {

// The first name goes: the last further name takes its place.
void PromoteLastName(Node* n) {
  if (!n->more_names.empty()) {
    n->parent = n->more_names.back().first;
    n->name = std::move(n->more_names.back().second);
    n->more_names.pop_back();
  } else {
    n->parent = nullptr;
    n->name.clear();
  }
}

}  // namespace

void RemoveNameOf(Node* n, const Node* dir, const std::string& name) {
  if (n->parent == dir && n->name == name) {
    PromoteLastName(n);
    return;
  }
  auto& more = n->more_names;
  more.erase(std::remove_if(more.begin(), more.end(),
                            [&](const auto& p) { return p.first == dir && p.second == name; }),
             more.end());
}

void RemoveNamesIn(Node* n, const Node* dir) {
  auto& more = n->more_names;
  more.erase(
      std::remove_if(more.begin(), more.end(), [&](const auto& p) { return p.first == dir; }),
      more.end());
  if (n->parent == dir) PromoteLastName(n);
}

}  // namespace snapvol::fs
