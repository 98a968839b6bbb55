#include "driver/fs/view.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <random>

#include "driver/fs/directory_reader.h"
#include "driver/fs/posix_error.h"
#include "driver/fs/rebaser.h"
#include "driver/fs/xattr_list.h"

namespace snapvol::fs {
namespace {

using objects::Entry;
using volume::Path;

uint64_t NewLinkId() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  uint64_t id = 0;
  while (id == 0) id = rng();
  return id;
}

// Whether every user may search `dir` (null: no directory to search).
bool SearchableByAll(const Node* dir) { return dir == nullptr || (dir->attr.mode & 0111) == 0111; }

Object ObjectOf(const Node* n) {
  return Object{n->attr.mode, n->attr.uid, n->attr.gid, n->is_dir(), n->type == NodeType::kFile};
}

Status NotFound(Node* n) {
  if (n == nullptr) return PosixError(ENOENT, "inode not found");
  return Status::Ok();
}

}  // namespace

View::View(ViewOptions options, store::ObjectStore* objects, TreeCache* trees, ChunkCache* chunks,
           Journal* journal)
    : options_(std::move(options)),
      objects_(objects),
      trees_(trees),
      chunks_(chunks),
      journal_(journal) {}

View::~View() = default;

// ---------------------------------------------------------------------------
// Helpers (mu_ held).

Result<Node*> View::GetDir(Ino ino) const {
  Node* n = Get(ino);
  if (n == nullptr) return PosixError(ENOENT, "inode " + std::to_string(ino) + " not found");
  if (!n->is_dir())
    return PosixError(ENOTDIR, "inode " + std::to_string(ino) + " is not a directory");
  return n;
}

EntryOut View::Out(const Node* n) const {
  EntryOut o;
  o.ino = n->ino;
  o.type = n->type;
  o.attr = n->attr;
  if (n->is_dir()) {
    // One rule before and after commits and remounts (docs/mount.md "Link
    // counts"): a stored directory does not know how many subdirectories it
    // has without a scan, and 1 tells tools like find not to use the
    // "nlink - 2 subdirectories" shortcut.
    o.nlink = 1;
  } else {
    o.nlink = static_cast<uint32_t>(n->names());
  }
  o.entry_timeout = (n->parent != nullptr && n->parent->ino == kRootIno)
                        ? options_.root_entry_timeout
                        : options_.entry_timeout;
  // The kernel walks cached names without asking us (no
  // default_permissions), so it would skip the search check of a directory
  // some users may not search: names in one are looked up on every walk.
  bool searchable = SearchableByAll(n->parent);
  for (const auto& [dir, name] : n->more_names) searchable &= SearchableByAll(dir);
  if (!searchable) o.entry_timeout = 0;
  o.attr_timeout = options_.attr_timeout;
  return o;
}

Status View::CheckWritable() const {
  if (options_.read_only) return PosixError(EROFS, "the mount is read-only");
  return Status::Ok();
}

Status View::CheckCreate(Lock& lock, Node* dir, const std::string& name, const Cred& cred,
                         Node** existing) {
  RETURN_IF_ERROR(CheckWritable());
  RETURN_IF_ERROR(CheckName(name));
  RETURN_IF_ERROR(CheckReachable(dir, "directory"));
  RETURN_IF_ERROR(CheckPermission(ObjectOf(dir), cred, kMayExec));
  ASSIGN_OR_RETURN(*existing, base_tree_.Resolve(lock, dir, name));
  if (*existing != nullptr) return Status::Ok();
  return CheckPermission(ObjectOf(dir), cred, kMayWrite | kMayExec);
}

Status View::CheckRemove(Lock& lock, Node* dir, const std::string& name, const Cred& cred,
                         Node** n) {
  RETURN_IF_ERROR(CheckLive(dir));
  RETURN_IF_ERROR(CheckName(name));
  RETURN_IF_ERROR(CheckPermission(ObjectOf(dir), cred, kMayExec));
  ASSIGN_OR_RETURN(*n, base_tree_.Resolve(lock, dir, name));
  if (*n == nullptr) return PosixError(ENOENT, "'" + name + "' not found");
  return CheckRemoval(ObjectOf(dir), ObjectOf(*n), cred);
}

Attr View::NewAttr(Node* dir, uint32_t mode, const Cred& cred, bool is_dir) const {
  Attr a;
  a.mode = mode & 07777;
  a.uid = cred.uid();
  if (dir->attr.mode & S_ISGID) {
    a.gid = dir->attr.gid;
    if (is_dir) a.mode |= S_ISGID;
  } else {
    a.gid = cred.gid();
  }
  if (!is_dir) a.mode = ModeAfterChmod(a.mode, a.gid, cred);
  a.mtime_ns = a.ctime_ns = a.atime_ns = NowNs();
  return a;
}

Node* View::NewLocal(NodeType type, const Attr& attr) {
  auto n = std::make_unique<Node>();
  n->type = type;
  n->attr = attr;
  n->at_origin = false;
  n->dirty = true;
  n->seq = changes_.NextSeq();
  n->entry = std::make_unique<Entry>();
  n->entry->set_type(EntryTypeOf(type));
  if (type == NodeType::kDir) n->dir = std::make_unique<DirState>();
  return table_.Add(std::move(n));
}

void View::Created(Node* dir, const std::string& name, Node* n) {
  changes_.Bind(dir, name, n);
  inodes_.Created();
  Touch(dir);
}

EntryOut View::Referenced(Node* n) {
  table_.Ref(n);
  return Out(n);
}

Handle* View::NewHandle(Node* n, bool writable) {
  auto h = std::make_unique<Handle>();
  h->node = n;
  h->writable = writable;
  Handle* raw = h.get();
  handles_.emplace(raw, std::move(h));
  ++n->opens;
  if (writable) {
    ++n->writers;
    n->upper->AddWriter();
    raw->upper = n->upper;
  }
  return raw;
}

void View::EmptyRemovedDir(Node* d) {
  d->dir->children.clear();
  d->dir->tree.reset();
  ++d->dir->tree_gen;
}

void View::Touch(Node* dir) { dir->attr.mtime_ns = dir->attr.ctime_ns = NowNs(); }

// ---------------------------------------------------------------------------
// Setup and inode operations.

Status View::Attach(const volume::Snapshot& base) {
  Lock lock(mu_);
  base_ = base;
  inodes_.Rebase(base.inodes(), 0);
  std::unique_ptr<Node> root = BaseTree::NodeFromEntry(base.root());
  root->nlookup = 1;  // pinned for the life of the mount
  root->kept = true;
  // The root has no parent tree to load its entry from on demand: it holds
  // it (its xattrs) from the start.
  root->entry = std::make_unique<Entry>(base.root());
  Node* r = table_.Add(std::move(root));
  if (r->ino != kRootIno) return Status::Internal("root attached twice");
  return Status::Ok();
}

Result<EntryOut> View::Lookup(Ino parent, const std::string& name, const Cred& cred) {
  Lock lock(mu_);
  ASSIGN_OR_RETURN(Node * dir, GetDir(parent));
  RETURN_IF_ERROR(CheckLive(dir));
  RETURN_IF_ERROR(CheckName(name));
  RETURN_IF_ERROR(CheckPermission(ObjectOf(dir), cred, kMayExec));
  ASSIGN_OR_RETURN(Node * n, base_tree_.Resolve(lock, dir, name));
  if (n == nullptr) return PosixError(ENOENT, "'" + name + "' not found");
  table_.Ref(n);
  return Out(n);
}

void View::Forget(Ino ino, uint64_t n) {
  Lock lock(mu_);
  Node* node = Get(ino);
  if (node != nullptr) table_.Unref(node, n);
}

Result<EntryOut> View::GetAttr(Ino ino) {
  Lock lock(mu_);
  Node* n = Get(ino);
  RETURN_IF_ERROR(NotFound(n));
  // Open handles keep a replaced node's attributes (fstat), S4.
  if (n->opens == 0) RETURN_IF_ERROR(CheckLive(n));
  return Out(n);
}

Result<EntryOut> View::SetAttr(Ino ino, const SetAttrIn& in, const Cred& cred) {
  Lock lock(mu_);
  Node* n = Get(ino);
  RETURN_IF_ERROR(NotFound(n));
  return SetAttrLocked(lock, n, in, cred);
}

Result<EntryOut> View::SetAttrLocked(Lock& lock, Node* n, const SetAttrIn& in, const Cred& cred) {
  const bool times = in.atime_ns || in.mtime_ns || in.atime_now || in.mtime_now;
  if (in.mode || in.uid || in.gid || in.size || times) {
    RETURN_IF_ERROR(CheckWritable());
    if (!in.via_handle) RETURN_IF_ERROR(CheckLive(n));
  }
  RETURN_IF_ERROR(CheckSetAttr(ObjectOf(n), in, cred));

  InodeTable::Pin pin(&table_, n);
  const int64_t now = NowNs();
  bool changed = false;
  if (in.size) {
    if (n->upper == nullptr) {
      RETURN_IF_ERROR(
          upper_files_.CopyUp(lock, n, *in.size == 0, std::min(*in.size, n->attr.size)));
    }
    RETURN_IF_ERROR(n->upper->Truncate(*in.size));
    n->attr.size = *in.size;
    n->attr.mtime_ns = now;
    changed = true;
  }
  mount::JournalRecord rec;
  bool attrs = false;
  if (in.mode) {
    n->attr.mode = ModeAfterChmod(*in.mode, in.gid ? *in.gid : n->attr.gid, cred);
    rec.set_mode(n->attr.mode);
    attrs = true;
  }
  if (in.uid) {
    n->attr.uid = *in.uid;
    rec.set_uid(*in.uid);
    attrs = true;
  }
  if (in.gid) {
    n->attr.gid = *in.gid;
    rec.set_gid(*in.gid);
    attrs = true;
  }
  if (in.atime_now) n->attr.atime_ns = now;
  if (in.atime_ns && !in.atime_now) n->attr.atime_ns = *in.atime_ns;
  if (in.mtime_now || (in.mtime_ns && !in.mtime_now)) {
    n->attr.mtime_ns = in.mtime_now ? now : *in.mtime_ns;
    rec.set_mtime_ns(n->attr.mtime_ns);
    attrs = true;
  }
  if (in.mode || in.uid || in.gid || in.size || times) n->attr.ctime_ns = now;
  if (attrs || changed) {
    changes_.MarkDirty(n);
    if (changed) RETURN_IF_ERROR(records_.Record(n));
    if (attrs) RETURN_IF_ERROR(records_.SetAttr(n, rec));
  }
  return Out(n);
}

Result<std::string> View::ReadLink(Ino ino) {
  Lock lock(mu_);
  Node* n = Get(ino);
  RETURN_IF_ERROR(NotFound(n));
  if (n->type != NodeType::kSymlink || n->entry == nullptr) {
    return PosixError(EINVAL, "not a symbolic link");
  }
  return n->entry->symlink_target();
}

Result<EntryOut> View::Mknod(Ino parent, const std::string& name, uint32_t mode, uint64_t rdev,
                             const Cred& cred) {
  const std::optional<NodeType> type = NodeTypeOfMode(mode);
  if (!type) return PosixError(EINVAL, "unsupported file type");
  Lock lock(mu_);
  ASSIGN_OR_RETURN(Node * dir, GetDir(parent));
  Node* existing = nullptr;
  RETURN_IF_ERROR(CheckCreate(lock, dir, name, cred, &existing));
  if (existing != nullptr) return PosixError(EEXIST, "'" + name + "' exists");
  const bool device = type == NodeType::kCharDevice || type == NodeType::kBlockDevice;
  if (device && !cred.Capable(CAP_MKNOD)) {
    return PosixError(EPERM, "only root may create device files");
  }
  RETURN_IF_ERROR(inodes_.CheckRoom(1));
  Attr attr = NewAttr(dir, mode, cred, false);
  if (device) attr.rdev = rdev;
  std::shared_ptr<UpperFile> upper;
  if (type == NodeType::kFile) {
    ASSIGN_OR_RETURN(upper, upper_files_.NewEmpty());
  }
  Node* n = NewLocal(*type, attr);
  n->upper = std::move(upper);
  Created(dir, name, n);
  RETURN_IF_ERROR(records_.Record(n));
  return Referenced(n);
}

Result<EntryOut> View::Mkdir(Ino parent, const std::string& name, uint32_t mode, const Cred& cred) {
  Lock lock(mu_);
  ASSIGN_OR_RETURN(Node * dir, GetDir(parent));
  Node* existing = nullptr;
  RETURN_IF_ERROR(CheckCreate(lock, dir, name, cred, &existing));
  if (existing != nullptr) return PosixError(EEXIST, "'" + name + "' exists");
  RETURN_IF_ERROR(inodes_.CheckRoom(1));
  Node* n = NewLocal(NodeType::kDir, NewAttr(dir, mode, cred, true));
  Created(dir, name, n);
  const Path path = ChildPath(dir, name);
  if (dir->dir->children[name].replaced) RETURN_IF_ERROR(records_.Delete(path));
  RETURN_IF_ERROR(records_.PutAt(path, n));
  return Referenced(n);
}

Result<EntryOut> View::Symlink(Ino parent, const std::string& name, const std::string& target,
                               const Cred& cred) {
  if (target.empty() || target.size() >= 4096) {
    return PosixError(target.empty() ? ENOENT : ENAMETOOLONG, "invalid symlink target");
  }
  Lock lock(mu_);
  ASSIGN_OR_RETURN(Node * dir, GetDir(parent));
  Node* existing = nullptr;
  RETURN_IF_ERROR(CheckCreate(lock, dir, name, cred, &existing));
  if (existing != nullptr) return PosixError(EEXIST, "'" + name + "' exists");
  RETURN_IF_ERROR(inodes_.CheckRoom(1));
  Attr attr = NewAttr(dir, 0777, cred, false);
  attr.size = target.size();
  Node* n = NewLocal(NodeType::kSymlink, attr);
  n->entry->set_symlink_target(target);
  Created(dir, name, n);
  RETURN_IF_ERROR(records_.Put(n));
  return Referenced(n);
}

Result<EntryOut> View::Link(Ino ino, Ino new_parent, const std::string& new_name,
                            const Cred& cred) {
  Lock lock(mu_);
  Node* n = Get(ino);
  RETURN_IF_ERROR(NotFound(n));
  if (n->is_dir()) return PosixError(EPERM, "cannot hard-link a directory");
  ASSIGN_OR_RETURN(Node * dir, GetDir(new_parent));
  InodeTable::Pin pin(&table_, n);
  for (;;) {
    Node* existing = nullptr;
    RETURN_IF_ERROR(CheckCreate(lock, dir, new_name, cred, &existing));
    if (existing != nullptr) return PosixError(EEXIST, "'" + new_name + "' exists");
    RETURN_IF_ERROR(inodes_.CheckRoom(1));
    RETURN_IF_ERROR(CheckReachable(n, "file"));
    if (n->entry == nullptr) {
      RETURN_IF_ERROR(base_tree_.LoadEntry(lock, n));
      continue;  // the lock was released: check again
    }
    break;
  }
  if (n->link_id == 0) {
    n->link_id = NewLinkId();
    table_.AddLink(n);
    changes_.MarkDirty(n);
    RETURN_IF_ERROR(records_.Put(n));
  }
  Created(dir, new_name, n);
  n->attr.ctime_ns = NowNs();
  RETURN_IF_ERROR(records_.PutAt(ChildPath(dir, new_name), n));
  return Referenced(n);
}

Status View::Unlink(Ino parent, const std::string& name, const Cred& cred) {
  RETURN_IF_ERROR(CheckWritable());
  Lock lock(mu_);
  ASSIGN_OR_RETURN(Node * dir, GetDir(parent));
  Node* n = nullptr;
  Status removable = CheckRemove(lock, dir, name, cred, &n);
  InodeTable::Pin pin(&table_, n);
  RETURN_IF_ERROR(removable);
  if (n->is_dir()) return PosixError(EISDIR, "'" + name + "' is a directory");
  const Path path = ChildPath(dir, name);
  changes_.Unbind(dir, name, n);
  inodes_.Removed();
  Touch(dir);
  n->attr.ctime_ns = NowNs();
  return records_.Delete(path);
}

Status View::Rmdir(Ino parent, const std::string& name, const Cred& cred) {
  RETURN_IF_ERROR(CheckWritable());
  Lock lock(mu_);
  ASSIGN_OR_RETURN(Node * dir, GetDir(parent));
  Node* n = nullptr;
  Status removable = CheckRemove(lock, dir, name, cred, &n);
  InodeTable::Pin pin(&table_, n);
  RETURN_IF_ERROR(removable);
  if (!n->is_dir()) return PosixError(ENOTDIR, "'" + name + "' is not a directory");
  ASSIGN_OR_RETURN(bool empty, base_tree_.DirIsEmpty(n));
  if (!empty) return PosixError(ENOTEMPTY, "'" + name + "' is not empty");
  const Path path = ChildPath(dir, name);
  changes_.Unbind(dir, name, n);
  EmptyRemovedDir(n);
  inodes_.Removed();
  Touch(dir);
  return records_.Delete(path);
}

Status View::Rename(Ino parent, const std::string& name, Ino new_parent,
                    const std::string& new_name, unsigned flags, const Cred& cred) {
  if (flags & ~static_cast<unsigned>(RENAME_NOREPLACE)) {
    return PosixError(EINVAL, "only RENAME_NOREPLACE is supported");
  }
  RETURN_IF_ERROR(CheckWritable());
  Lock lock(mu_);
  ASSIGN_OR_RETURN(Node * d1, GetDir(parent));
  ASSIGN_OR_RETURN(Node * d2, GetDir(new_parent));
  RETURN_IF_ERROR(CheckLive(d1));
  RETURN_IF_ERROR(CheckName(name));
  RETURN_IF_ERROR(CheckName(new_name));
  RETURN_IF_ERROR(CheckPermission(ObjectOf(d1), cred, kMayExec));
  RETURN_IF_ERROR(CheckPermission(ObjectOf(d2), cred, kMayExec));
  RETURN_IF_ERROR(CheckReachable(d2, "target directory"));
  Node* src = nullptr;
  Node* dst = nullptr;
  std::optional<InodeTable::Pin> src_pin, dst_pin;
  for (;;) {
    ASSIGN_OR_RETURN(src, base_tree_.Resolve(lock, d1, name));
    if (src == nullptr) return PosixError(ENOENT, "'" + name + "' not found");
    if (!src_pin || src_pin->node() != src) {
      src_pin.reset();
      src_pin.emplace(&table_, src);
    }
    if (src->entry == nullptr && (src->type == NodeType::kFile || src->base_xattrs)) {
      RETURN_IF_ERROR(base_tree_.LoadEntry(lock, src));
      continue;
    }
    ASSIGN_OR_RETURN(dst, base_tree_.Resolve(lock, d2, new_name));
    auto again = d1->dir->children.find(name);
    if (again == d1->dir->children.end() || again->second.node != src) continue;
    if (!dst_pin || dst_pin->node() != dst) {
      dst_pin.reset();
      dst_pin.emplace(&table_, dst);
    }
    break;
  }
  if (src == dst) return Status::Ok();
  if (dst != nullptr && (flags & RENAME_NOREPLACE)) {
    return PosixError(EEXIST, "'" + new_name + "' exists");
  }
  RETURN_IF_ERROR(CheckPermission(ObjectOf(d1), cred, kMayWrite | kMayExec));
  RETURN_IF_ERROR(CheckPermission(ObjectOf(d2), cred, kMayWrite | kMayExec));
  RETURN_IF_ERROR(CheckRemoval(ObjectOf(d1), ObjectOf(src), cred));
  if (dst != nullptr) RETURN_IF_ERROR(CheckRemoval(ObjectOf(d2), ObjectOf(dst), cred));
  if (src->is_dir()) {
    for (const Node* p = d2; p != nullptr; p = p->parent) {
      if (p == src) return PosixError(EINVAL, "cannot move a directory into itself");
    }
    if (dst != nullptr) {
      if (!dst->is_dir()) return PosixError(ENOTDIR, "'" + new_name + "' is not a directory");
      ASSIGN_OR_RETURN(bool empty, base_tree_.DirIsEmpty(dst));
      if (!empty) return PosixError(ENOTEMPTY, "'" + new_name + "' is not empty");
    }
    if (d1 != d2) RETURN_IF_ERROR(CheckPermission(ObjectOf(src), cred, kMayWrite));
  } else if (dst != nullptr && dst->is_dir()) {
    return PosixError(EISDIR, "'" + new_name + "' is a directory");
  }

  const Path from = ChildPath(d1, name);
  const Path to = ChildPath(d2, new_name);
  changes_.Unbind(d1, name, src);
  if (dst != nullptr) {
    changes_.Unbind(d2, new_name, dst);
    if (dst->is_dir()) EmptyRemovedDir(dst);
    inodes_.Removed();
    dst->attr.ctime_ns = NowNs();
  }
  if (src->entry == nullptr) {
    src->entry = std::make_unique<Entry>();
    src->entry->set_type(EntryTypeOf(src->type));
  }
  src->at_origin = false;
  changes_.Bind(d2, new_name, src);
  src->attr.ctime_ns = NowNs();
  Touch(d1);
  Touch(d2);
  return records_.Rename(from, to);
}

std::vector<std::string> View::NamesToRecheck(Ino ino) const {
  Lock lock(mu_);
  std::vector<std::string> names;
  const Node* d = Get(ino);
  if (d == nullptr || !d->is_dir() || SearchableByAll(d)) return names;
  for (const auto& [name, c] : d->dir->children) {
    if (c.node != nullptr) names.push_back(name);
  }
  return names;
}

Status View::Access(Ino ino, int mask, const Cred& cred) {
  Lock lock(mu_);
  Node* n = Get(ino);
  RETURN_IF_ERROR(NotFound(n));
  if ((mask & kMayWrite) && options_.read_only) return PosixError(EROFS, "read-only mount");
  return CheckPermission(ObjectOf(n), cred, mask);
}

// ---------------------------------------------------------------------------
// Files.

Result<OpenOut> View::Open(Ino ino, int flags, const Cred& cred) {
  Lock lock(mu_);
  Node* n = Get(ino);
  RETURN_IF_ERROR(NotFound(n));
  // A new open sees the newest version (S4); a write to a replaced node
  // would be lost with it (found by the e2e stress test, seed 388: a write
  // racing a reload vanished).
  RETURN_IF_ERROR(CheckLive(n));
  if (n->is_dir()) return PosixError(EISDIR, "is a directory");
  const int acc = flags & O_ACCMODE;
  const bool write = acc != O_RDONLY;
  const bool trunc = (flags & O_TRUNC) != 0;
  if (write || trunc) RETURN_IF_ERROR(CheckWritable());
  int mask = 0;
  if (acc != O_WRONLY) mask |= kMayRead;
  if (write || trunc) mask |= kMayWrite;
  RETURN_IF_ERROR(CheckPermission(ObjectOf(n), cred, mask));
  if (n->type != NodeType::kFile) return PosixError(EINVAL, "not a regular file");
  InodeTable::Pin pin(&table_, n);
  if (trunc) {
    if (n->upper == nullptr) {
      RETURN_IF_ERROR(upper_files_.CopyUp(lock, n, true, 0));
    } else {
      RETURN_IF_ERROR(n->upper->Truncate(0));
    }
    // O_TRUNC changes mtime and ctime even of an empty file (Linux, POSIX
    // "shall mark for update", pjdfstest open/00).
    n->attr.size = 0;
    n->attr.mtime_ns = n->attr.ctime_ns = NowNs();
    // The kernel's kill-priv for open(O_TRUNC) never reaches us (with
    // atomic O_TRUNC it drops that setattr), so clear the set-id bits as
    // it would.
    if (std::optional<uint32_t> mode = ModeAfterWrite(n->attr.mode, cred)) n->attr.mode = *mode;
    changes_.MarkDirty(n);
    RETURN_IF_ERROR(records_.Record(n));
  } else if (write) {
    RETURN_IF_ERROR(upper_files_.CopyUp(lock, n, false, n->attr.size));
    changes_.MarkKept(n);
  }
  std::shared_ptr<const FileLayout> layout;
  if (!write && !trunc && n->upper == nullptr) {
    ASSIGN_OR_RETURN(layout, base_tree_.LoadLayout(lock, n));
  }
  Handle* h = NewHandle(n, write);
  h->layout = std::move(layout);
  return OpenOut{h, true};
}

Result<std::pair<EntryOut, OpenOut>> View::Create(Ino parent, const std::string& name,
                                                  uint32_t mode, int flags, const Cred& cred) {
  Ino existing_ino = 0;
  {
    Lock lock(mu_);
    ASSIGN_OR_RETURN(Node * dir, GetDir(parent));
    Node* existing = nullptr;
    RETURN_IF_ERROR(CheckCreate(lock, dir, name, cred, &existing));
    if (existing != nullptr) {
      if (flags & O_EXCL) return PosixError(EEXIST, "'" + name + "' exists");
      if (existing->is_dir()) return PosixError(EISDIR, "'" + name + "' is a directory");
      table_.Ref(existing);
      existing_ino = existing->ino;
    } else {
      RETURN_IF_ERROR(inodes_.CheckRoom(1));
      ASSIGN_OR_RETURN(std::shared_ptr<UpperFile> upper, upper_files_.NewEmpty());
      Node* n = NewLocal(NodeType::kFile, NewAttr(dir, mode, cred, false));
      n->upper = std::move(upper);
      Created(dir, name, n);
      RETURN_IF_ERROR(records_.Record(n));
      EntryOut out = Referenced(n);
      Handle* h = NewHandle(n, (flags & O_ACCMODE) != O_RDONLY);
      return std::make_pair(out, OpenOut{h, true});
    }
  }
  // The name appeared meanwhile and O_EXCL was not asked for: open it.
  Result<OpenOut> opened = Open(existing_ino, flags & ~O_CREAT, cred);
  Lock lock(mu_);
  Node* n = Get(existing_ino);
  if (!opened.ok()) {
    if (n != nullptr) table_.Unref(n, 1);
    return opened.status();
  }
  return std::make_pair(Out(n), *opened);
}

Status View::Read(Handle* h, uint64_t off, size_t size, std::vector<Segment>* out) {
  std::shared_ptr<UpperFile> upper;
  std::shared_ptr<const FileLayout> layout;
  uint64_t file_size = 0;
  {
    Lock lock(mu_);
    Node* n = h->node;
    upper = n->upper;
    file_size = n->attr.size;
    if (upper == nullptr) {
      ASSIGN_OR_RETURN(layout, base_tree_.LoadLayout(lock, n));
    }
    upper = n->upper;
  }
  if (upper != nullptr) {
    if (off >= file_size) return Status::Ok();
    ASSIGN_OR_RETURN(UpperFile::Use use, upper->Acquire());
    Segment s;
    s.fd = use.fd();
    s.pos = off;
    s.len = static_cast<size_t>(std::min<uint64_t>(size, file_size - off));
    // The reply splices from the descriptor after we return: keep it open.
    s.keep = std::make_shared<std::pair<std::shared_ptr<UpperFile>, UpperFile::Use>>(
        upper, std::move(use));
    out->push_back(std::move(s));
    return Status::Ok();
  }
  return layout->Read(*chunks_, off, size, out);
}

Result<View::WriteTicket> View::BeginWrite(Handle* h, const Cred& cred, bool direct) {
  WriteTicket t;
  t.handle_ = h;
  {
    Lock lock(mu_);
    Node* n = h->node;
    if (direct) {
      t.open_elsewhere_ = n->opens > 1;
      if (std::optional<uint32_t> mode = ModeAfterWrite(n->attr.mode, cred)) {
        SetAttrIn change;
        change.mode = *mode;
        change.via_handle = true;
        RETURN_IF_ERROR(SetAttrLocked(lock, n, change, cred).status());
        t.mode_changed_ = true;
      }
    }
    if (!h->writable) return PosixError(EBADF, "not open for writing");
    t.upper_ = n->upper;
  }
  if (t.upper_ == nullptr) return PosixError(EIO, "no upper file for a writable handle");
  ASSIGN_OR_RETURN(UpperFile::Use use, t.upper_->Acquire());
  t.use_.emplace(std::move(use));
  t.scope_ = std::make_unique<UpperFile::WriteScope>(t.upper_.get());
  return t;
}

Status View::EndWrite(WriteTicket ticket, uint64_t off, size_t written) {
  ticket.scope_.reset();
  ticket.use_.reset();
  Lock lock(mu_);
  Node* n = ticket.handle_->node;
  n->attr.size = std::max<uint64_t>(n->attr.size, off + written);
  n->attr.mtime_ns = n->attr.ctime_ns = NowNs();
  changes_.MarkDirty(n);
  return records_.RecordOnce(n);
}

Status View::Fsync(Handle* h, bool datasync) {
  std::shared_ptr<UpperFile> upper;
  {
    Lock lock(mu_);
    upper = h->node->upper;
  }
  if (upper != nullptr) RETURN_IF_ERROR(upper->Sync());
  return SyncJournal();
}

void View::Release(Handle* h) {
  std::shared_ptr<UpperFile> closed;  // its last writer is gone
  {
    Lock lock(mu_);
    auto it = handles_.find(h);
    if (it == handles_.end()) return;
    Node* n = h->node;
    --n->opens;
    if (h->writable) --n->writers;
    if (h->upper != nullptr) {
      h->upper->RemoveWriter();
      if (h->upper->writers() == 0) closed = h->upper;
    }
    if (n->opens == 0) n->layout.reset();
    handles_.erase(it);
    table_.DropIfUnused(n);
  }
  // Waits for the stream's last chunks: not under the view's lock.
  if (closed != nullptr) closed->SealStream();
}

Status View::SyncJournal() { return records_.Sync(); }

// ---------------------------------------------------------------------------
// Directories.

Result<Handle*> View::OpenDir(Ino ino, const Cred& cred) {
  Lock lock(mu_);
  Node* n = Get(ino);
  RETURN_IF_ERROR(NotFound(n));
  RETURN_IF_ERROR(CheckLive(n));
  if (!n->is_dir()) return PosixError(ENOTDIR, "not a directory");
  RETURN_IF_ERROR(CheckPermission(ObjectOf(n), cred, kMayRead));
  Handle* h = NewHandle(n, false);
  h->dir = true;
  h->tree = n->dir->tree;
  return h;
}

Status View::ReadDir(Handle* h, uint64_t off, bool plus,
                     const std::function<bool(const DirEntryOut&)>& add) {
  return DirectoryReader(this).Read(h, off, plus, add);
}

void View::ReleaseDir(Handle* h) { Release(h); }

// ---------------------------------------------------------------------------
// Extended attributes: the node's entry holds the whole set, sorted by name
// (loaded from the base entry before the first change).

Status View::SetXattr(Ino ino, const std::string& name, const std::string& value, int flags,
                      const Cred& cred) {
  RETURN_IF_ERROR(CheckWritable());
  Lock lock(mu_);
  Node* n = Get(ino);
  RETURN_IF_ERROR(NotFound(n));
  RETURN_IF_ERROR(CheckLive(n));
  RETURN_IF_ERROR(CheckXattrChange(ObjectOf(n), name, cred));
  InodeTable::Pin pin(&table_, n);
  if (n->entry == nullptr) RETURN_IF_ERROR(base_tree_.LoadEntry(lock, n));
  RETURN_IF_ERROR(PutXattr(n->entry.get(), name, value, flags));
  n->attr.ctime_ns = NowNs();
  n->xattrs_changed = true;
  changes_.MarkDirty(n);
  return records_.Record(n);
}

Result<std::string> View::GetXattr(Ino ino, const std::string& name, const Cred& cred) {
  Lock lock(mu_);
  Node* n = Get(ino);
  RETURN_IF_ERROR(NotFound(n));
  RETURN_IF_ERROR(CheckXattrRead(ObjectOf(n), name, cred));
  if (n->entry == nullptr) {
    if (!n->base_xattrs) return PosixError(ENODATA, "no such xattr");
    InodeTable::Pin pin(&table_, n);
    RETURN_IF_ERROR(base_tree_.LoadEntry(lock, n));
  }
  return FindXattr(*n->entry, name);
}

Result<std::vector<std::string>> View::ListXattr(Ino ino, const Cred& cred) {
  Lock lock(mu_);
  Node* n = Get(ino);
  RETURN_IF_ERROR(NotFound(n));
  std::vector<std::string> names;
  if (n->entry == nullptr) {
    if (!n->base_xattrs) return names;
    InodeTable::Pin pin(&table_, n);
    RETURN_IF_ERROR(base_tree_.LoadEntry(lock, n));
  }
  for (const objects::Xattr& x : n->entry->xattrs()) {
    if (XattrListed(x.name(), cred)) names.push_back(x.name());
  }
  return names;
}

Status View::RemoveXattr(Ino ino, const std::string& name, const Cred& cred) {
  RETURN_IF_ERROR(CheckWritable());
  Lock lock(mu_);
  Node* n = Get(ino);
  RETURN_IF_ERROR(NotFound(n));
  RETURN_IF_ERROR(CheckLive(n));
  RETURN_IF_ERROR(CheckXattrChange(ObjectOf(n), name, cred));
  InodeTable::Pin pin(&table_, n);
  if (n->entry == nullptr) {
    if (!n->base_xattrs) return PosixError(ENODATA, "no such xattr");
    RETURN_IF_ERROR(base_tree_.LoadEntry(lock, n));
  }
  RETURN_IF_ERROR(DeleteXattr(n->entry.get(), name));
  n->attr.ctime_ns = NowNs();
  n->xattrs_changed = true;
  changes_.MarkDirty(n);
  return records_.Record(n);
}

// ---------------------------------------------------------------------------
// Reload.

Result<Invalidations> View::Rebase(const volume::Snapshot& snap) {
  Lock lock(mu_);
  return Rebaser(this).Rebase(snap);
}

// ---------------------------------------------------------------------------
// Observability.

Result<StatFsOut> View::StatFs() {
  StatFsOut out;
  struct statvfs st;
  const std::string where = options_.data_dir.empty() ? "/" : options_.data_dir;
  if (::statvfs(where.c_str(), &st) == 0) {
    out.block_size = st.f_frsize != 0 ? st.f_frsize : st.f_bsize;
    out.blocks = st.f_blocks;
    out.blocks_free = st.f_bfree;
    out.blocks_avail = st.f_bavail;
  }
  Lock lock(mu_);
  out.files = inodes_.limit();
  out.files_free = inodes_.free();
  return out;
}

uint64_t View::base_version() const {
  Lock lock(mu_);
  return base_.version;
}

uint64_t View::PendingCount() const {
  Lock lock(mu_);
  return changes_.PendingCount();
}

bool View::HasPending() const { return PendingCount() > 0; }

uint64_t View::inodes() const {
  Lock lock(mu_);
  return inodes_.used();
}

size_t View::node_count() const {
  Lock lock(mu_);
  return table_.size();
}

}  // namespace snapvol::fs
