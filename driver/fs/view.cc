#include "driver/fs/view.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>

#include <algorithm>
#include <random>

#include "driver/fs/posix_error.h"
#include "driver/volume/tree_page.h"

namespace snapvol::fs {
namespace {

using objects::Entry;
using volume::ChangeOp;
using volume::Path;

int64_t NowNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

uint64_t Fingerprint(const Entry& e) {
  // One buffer per thread: readdirplus fingerprints every entry it binds.
  static thread_local std::string s;
  e.SerializeToString(&s);
  return std::hash<std::string>{}(s);
}

uint64_t NewLinkId() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  uint64_t id = 0;
  while (id == 0) id = rng();
  return id;
}

// Inode number reported by readdir for a name the mount has no node for
// yet. High bit set so it never equals a real inode number.
uint64_t PseudoIno(Ino dir, const std::string& name) {
  return (std::hash<std::string>{}(name) ^ (dir * 0x9E3779B97F4A7C15ull)) | (1ull << 63);
}

// Whether every user may search `dir` (null: no directory to search).
bool SearchableByAll(const Node* dir) { return dir == nullptr || (dir->attr.mode & 0111) == 0111; }

bool IsUserXattr(const std::string& name) { return name.rfind("user.", 0) == 0; }
bool IsTrustedXattr(const std::string& name) { return name.rfind("trusted.", 0) == 0; }

}  // namespace

// Keeps a node alive while mu_ is released; re-checks whether it can be
// dropped when it goes out of scope (mu_ must be held again by then, so
// declare it after the Lock).
struct View::Pin {
  Pin(View* v, Node* n) : view(v), node(n) {
    if (node != nullptr) ++node->pins;
  }
  ~Pin() {
    if (node != nullptr) {
      --node->pins;
      view->MaybeDrop(node);
    }
  }
  Pin(const Pin&) = delete;
  Pin& operator=(const Pin&) = delete;
  View* view;
  Node* node;
};

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

Node* View::Get(Ino ino) const { return table_.Get(ino); }

Result<Node*> View::GetDir(Ino ino) const {
  Node* n = Get(ino);
  if (n == nullptr) return PosixError(ENOENT, "inode " + std::to_string(ino) + " not found");
  if (!n->is_dir())
    return PosixError(ENOTDIR, "inode " + std::to_string(ino) + " is not a directory");
  return n;
}

Attr View::AttrOf(const Entry& e) const {
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

std::unique_ptr<Node> View::NodeFromEntry(const Entry& e) const {
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

// Gives the base entry `e` at (dir, name) its node: the node of its hard-link
// group if one is loaded (as another name of it), else a new one; records
// it as dir's child. Caller holds mu_ and knows the name is not bound yet.
Node* View::BindBaseEntry(Node* dir, const std::string& name, const objects::Entry& e) {
  Node* n = nullptr;
  if (e.link_id() != 0) {
    auto l = links_.find(e.link_id());
    if (l != links_.end()) n = l->second;
  }
  if (n != nullptr) {
    if (n->parent == nullptr) {
      n->parent = dir;
      n->name = name;
    } else {
      n->more_names.emplace_back(dir, name);
    }
  } else {
    n = table_.Add(NodeFromEntry(e));
    n->parent = dir;
    n->name = name;
    if (n->link_id != 0) links_[n->link_id] = n;
  }
  Child c;
  c.node = n;
  c.replaced = true;
  dir->dir->children.emplace(name, c);
  return n;
}

Result<Node*> View::Resolve(Lock& lock, Node* dir, const std::string& name) {
  for (;;) {
    auto& children = dir->dir->children;
    auto it = children.find(name);
    if (it != children.end()) return it->second.node;
    if (!dir->dir->tree || volume::IsEmptyTree(*dir->dir->tree)) return static_cast<Node*>(nullptr);
    const Hash tree = *dir->dir->tree;
    const uint64_t tree_gen = dir->dir->tree_gen;
    Pin pin(this, dir);
    lock.unlock();
    Result<std::optional<Entry>> found = trees_->Lookup(tree, name);
    lock.lock();
    if (!found.ok()) return found.status();
    if (dir->dir->tree_gen != tree_gen) continue;
    it = children.find(name);
    if (it != children.end()) return it->second.node;
    if (!found->has_value()) return static_cast<Node*>(nullptr);
    return BindBaseEntry(dir, name, **found);
  }
}

Status View::EnsureEntry(Lock& lock, Node* n) {
  while (n->entry == nullptr) {
    if (!n->at_origin || n->parent == nullptr || !n->parent->dir->tree) {
      return Status::Internal("inode " + std::to_string(n->ino) + " has no entry");
    }
    Node* parent = n->parent;
    const Hash tree = *parent->dir->tree;
    const uint64_t tree_gen = parent->dir->tree_gen;
    const std::string name = n->name;
    Pin pin(this, n);
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

Status View::EnsureUpper(Lock& lock, Node* n, bool empty, uint64_t limit) {
  if (n->upper != nullptr) return Status::Ok();
  if (empty && n->entry == nullptr && n->base_xattrs) {
    // The upper file replaces the content, not the xattrs: a commit
    // publishes the node from its entry, so the base's xattrs must be in it.
    Pin pin(this, n);
    RETURN_IF_ERROR(EnsureEntry(lock, n));
    if (n->upper != nullptr) return Status::Ok();
  }
  const uint64_t id = next_upper_++;
  const std::string path = options_.data_dir + "/" + std::to_string(id);
  if (empty) {
    ASSIGN_OR_RETURN(n->upper, UpperFile::Create(path, id));
    n->upper->EnableStreaming(objects_);
    n->journaled_gen = 0;  // as below
    return Status::Ok();
  }
  Pin pin(this, n);
  RETURN_IF_ERROR(EnsureEntry(lock, n));
  if (n->upper != nullptr) return Status::Ok();
  const objects::Content content = n->entry->content();
  const uint64_t size = n->attr.size;
  lock.unlock();
  Result<std::shared_ptr<UpperFile>> upper = UpperFile::Create(path, id);
  Status copied = upper.status();
  if (upper.ok()) {
    Result<std::shared_ptr<const FileLayout>> layout = FileLayout::Load(objects_, content, size);
    Result<UpperFile::Use> use = (*upper)->Acquire();
    if (!layout.ok()) {
      copied = layout.status();
    } else if (!use.ok()) {
      copied = use.status();
    } else {
      copied = (*layout)->CopyTo(*chunks_, use->fd(), std::min(limit, size));
    }
  }
  lock.lock();
  if (!copied.ok()) {
    if (upper.ok()) (*upper)->Unlink();
    return copied;
  }
  if (n->upper != nullptr) {
    (*upper)->Unlink();
    return Status::Ok();
  }
  n->upper = std::move(*upper);
  // A PUT journaled before (e.g. by a setxattr) carries the base content,
  // not this upper file: the next write must journal one that names it, or
  // recovery replays the content from before the write (found by
  // view_random_test, seed 861).
  n->journaled_gen = 0;
  return Status::Ok();
}

Result<std::shared_ptr<const FileLayout>> View::EnsureLayout(Lock& lock, Node* n) {
  while (n->layout == nullptr && n->upper == nullptr) {
    Pin pin(this, n);
    RETURN_IF_ERROR(EnsureEntry(lock, n));
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

Status View::CheckName(const std::string& name) const {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    return PosixError(EINVAL, "invalid name '" + name + "'");
  }
  if (name.size() > 255) return PosixError(ENAMETOOLONG, "name longer than 255 bytes");
  return Status::Ok();
}

Status View::CheckWritable() const {
  if (options_.read_only) return PosixError(EROFS, "the mount is read-only");
  return Status::Ok();
}

Status View::CheckAccess(const Node* n, const Cred& cred, int mask) const {
  if (MayAccess(n->attr.mode, n->attr.uid, n->attr.gid, n->is_dir(), cred, mask)) {
    return Status::Ok();
  }
  return PosixError(EACCES, "permission denied");
}

Status View::CheckLive(const Node* n) const {
  if (n->stale && n->names() == 0) return PosixError(ESTALE, "replaced by a reload");
  return Status::Ok();
}

Status View::CheckReachable(const Node* n, std::string_view what) const {
  if (n->ino == kRootIno || n->names() > 0) return Status::Ok();
  RETURN_IF_ERROR(CheckLive(n));
  return PosixError(ENOENT, std::string(what) + " was removed");
}

Status View::CheckCreate(Lock& lock, Node* dir, const std::string& name, const Cred& cred,
                         Node** existing) {
  RETURN_IF_ERROR(CheckWritable());
  RETURN_IF_ERROR(CheckName(name));
  RETURN_IF_ERROR(CheckReachable(dir, "directory"));
  RETURN_IF_ERROR(CheckAccess(dir, cred, kMayExec));
  ASSIGN_OR_RETURN(*existing, Resolve(lock, dir, name));
  if (*existing != nullptr) return Status::Ok();
  return CheckAccess(dir, cred, kMayWrite | kMayExec);
}

Status View::CheckInodeRoom(uint64_t n) const {
  const int64_t now = static_cast<int64_t>(base_.inodes()) + inode_delta_;
  if (now + static_cast<int64_t>(n) > static_cast<int64_t>(options_.inode_limit)) {
    return PosixError(ENOSPC,
                      "volume inode limit of " + std::to_string(options_.inode_limit) + " reached");
  }
  return Status::Ok();
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
  if (!is_dir && (a.mode & S_ISGID) && !cred.Capable(CAP_FSETID) && !cred.InGroup(a.gid)) {
    a.mode &= ~S_ISGID;
  }
  a.mtime_ns = a.ctime_ns = a.atime_ns = NowNs();
  return a;
}

Node* View::NewLocal(NodeType type, const Attr& attr) {
  auto n = std::make_unique<Node>();
  n->type = type;
  n->attr = attr;
  n->at_origin = false;
  n->dirty = true;
  n->seq = NextSeq();
  n->entry = std::make_unique<Entry>();
  n->entry->set_type(EntryTypeOf(type));
  if (type == NodeType::kDir) n->dir = std::make_unique<DirState>();
  return table_.Add(std::move(n));
}

void View::Bind(Node* dir, const std::string& name, Node* n) {
  auto& children = dir->dir->children;
  auto it = children.find(name);
  Child c;
  c.node = n;
  c.pending = true;
  c.replaced = it != children.end() && it->second.replaced;
  c.in_commit = it != children.end() && it->second.in_commit;
  c.seq = NextSeq();
  children[name] = c;
  if (n->parent == nullptr) {
    n->parent = dir;
    n->name = name;
  } else {
    n->more_names.emplace_back(dir, name);
  }
  // A rename removes the last name before it binds the new one, which
  // unregistered the link group: its other names, looked up later, must
  // still find this node.
  if (n->link_id != 0) links_.try_emplace(n->link_id, n);
  n->stale = false;
  // Not MarkKept(n): it stops at a node already kept, and a kept node
  // moved here (rename) must make its new ancestors kept, or a commit that
  // re-publishes one of them from its base tree skips it (found by
  // view_random_test, seed 94: a committed file vanished with its parent's
  // rename).
  n->kept = true;
  MarkKept(dir);
  NotePendingDir(dir);
}

void View::RemoveName(Node* dir, const std::string& name, Node* n) {
  auto& children = dir->dir->children;
  auto it = children.find(name);
  if (it != children.end()) {
    Child& c = it->second;
    if (c.pending && !c.replaced && !c.in_commit) {
      // Neither in the head nor on its way there: nothing to publish.
      children.erase(it);
    } else {
      // A name the running commit publishes keeps `replaced` as it is:
      // FinishCommit sets it if the commit lands, and drops the whiteout
      // if it does not.
      c.replaced = c.replaced || !c.pending;
      c.node = nullptr;
      c.pending = true;
      c.seq = NextSeq();
      MarkKept(dir);
      NotePendingDir(dir);
    }
  }
  if (n->parent == dir && n->name == name) {
    if (!n->more_names.empty()) {
      n->parent = n->more_names.back().first;
      n->name = std::move(n->more_names.back().second);
      n->more_names.pop_back();
    } else {
      n->parent = nullptr;
      n->name.clear();
    }
  } else {
    auto& more = n->more_names;
    more.erase(std::remove_if(more.begin(), more.end(),
                              [&](const auto& p) { return p.first == dir && p.second == name; }),
               more.end());
  }
  if (n->names() == 0) {
    auto l = links_.find(n->link_id);
    if (l != links_.end() && l->second == n) links_.erase(l);
    n->at_origin = false;
  }
}

void View::MarkKept(Node* n) {
  if (n == nullptr || n->kept) return;
  n->kept = true;
  MarkKept(n->parent);
  for (auto& [dir, name] : n->more_names) MarkKept(dir);
}

void View::NotePendingDir(Node* dir) { pending_dirs_.insert(dir->ino); }

void View::MarkDirty(Node* n) {
  n->dirty = true;
  n->seq = NextSeq();
  MarkKept(n);
  if (n->ino == kRootIno) pending_dirs_.insert(kRootIno);
  if (n->parent != nullptr) NotePendingDir(n->parent);
  for (auto& [dir, name] : n->more_names) NotePendingDir(dir);
}

void View::Touch(Node* dir) { dir->attr.mtime_ns = dir->attr.ctime_ns = NowNs(); }

void View::MaybeDrop(Node* n) {
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
      if (k->parent == n && k->name == name) {
        if (!k->more_names.empty()) {
          k->parent = k->more_names.back().first;
          k->name = std::move(k->more_names.back().second);
          k->more_names.pop_back();
        } else {
          k->parent = nullptr;
          k->name.clear();
          k->at_origin = false;
        }
      } else {
        auto& more = k->more_names;
        more.erase(
            std::remove_if(more.begin(), more.end(), [&](const auto& p) { return p.first == n; }),
            more.end());
      }
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
  auto l = links_.find(n->link_id);
  if (l != links_.end() && l->second == n) links_.erase(l);
  if (n->upper != nullptr && !attached) n->upper->Unlink();
  table_.Erase(n);
  for (Node* p : parents) MaybeDrop(p);
  for (Node* k : orphans) MaybeDrop(k);
}

bool View::Attached(const Node* n) const {
  for (int depth = 0; n != nullptr && depth < 100000; ++depth) {
    if (n->ino == kRootIno) return true;
    n = n->parent;
  }
  return false;
}

Path View::PathOf(const Node* dir) const {
  Path path;
  for (const Node* n = dir; n != nullptr && n->ino != kRootIno; n = n->parent) {
    path.push_back(n->name);
  }
  std::reverse(path.begin(), path.end());
  return path;
}

Path View::ChildPath(const Node* dir, const std::string& name) const {
  Path p = PathOf(dir);
  p.push_back(name);
  return p;
}

Entry View::EntryFor(const Node* n) const {
  Entry e = n->entry != nullptr ? *n->entry : Entry();
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

Status View::JournalRecord(mount::JournalRecord rec) {
  if (journal_ == nullptr) return Status::Ok();
  return journal_->Append(rec);
}

Status View::JournalPutAt(const Path& path, const Node* n) {
  if (journal_ == nullptr) return Status::Ok();
  mount::JournalRecord rec;
  for (const std::string& c : path) rec.add_path(c);
  Entry e = EntryFor(n);
  if (n->is_dir()) {
    // A directory's record carries its own attributes and xattrs only,
    // never its tree: replayed as a PUT, a tree would replace the
    // directory, undoing the changes below it recorded before and what
    // other mounts committed there since.
    rec.set_op(mount::JournalRecord::MKDIR);
    e.clear_tree();
    e.set_subtree_inodes(0);
    e.set_subtree_bytes(0);
    rec.set_xattrs(n->xattrs_changed && n->entry != nullptr);
  } else {
    rec.set_op(mount::JournalRecord::PUT);
    if (n->upper != nullptr) {
      rec.set_upper(n->upper->id());
      e.clear_content();
    }
  }
  *rec.mutable_entry() = std::move(e);
  return journal_->Append(rec);
}

Status View::JournalPut(const Node* n) {
  if (n->parent != nullptr) RETURN_IF_ERROR(JournalPutAt(ChildPath(n->parent, n->name), n));
  for (const auto& [dir, name] : n->more_names) {
    RETURN_IF_ERROR(JournalPutAt(ChildPath(dir, name), n));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Setup and inode operations.

Status View::Attach(const volume::Snapshot& base) {
  Lock lock(mu_);
  base_ = base;
  std::unique_ptr<Node> root = NodeFromEntry(base.root());
  root->nlookup = 1;  // pinned for the life of the mount
  root->kept = true;
  Node* r = table_.Add(std::move(root));
  if (r->ino != kRootIno) return Status::Internal("root attached twice");
  return Status::Ok();
}

Result<EntryOut> View::Lookup(Ino parent, const std::string& name, const Cred& cred) {
  Lock lock(mu_);
  ASSIGN_OR_RETURN(Node * dir, GetDir(parent));
  RETURN_IF_ERROR(CheckLive(dir));
  RETURN_IF_ERROR(CheckName(name));
  RETURN_IF_ERROR(CheckAccess(dir, cred, kMayExec));
  ASSIGN_OR_RETURN(Node * n, Resolve(lock, dir, name));
  if (n == nullptr) return PosixError(ENOENT, "'" + name + "' not found");
  table_.Ref(n);
  return Out(n);
}

void View::Forget(Ino ino, uint64_t n) {
  Lock lock(mu_);
  Node* node = Get(ino);
  if (node == nullptr) return;
  if (table_.Forget(node, n)) MaybeDrop(node);
}

Result<EntryOut> View::GetAttr(Ino ino) {
  Lock lock(mu_);
  Node* n = Get(ino);
  if (n == nullptr) return PosixError(ENOENT, "inode not found");
  // Open handles keep a replaced node's attributes (fstat), S4.
  if (n->opens == 0) RETURN_IF_ERROR(CheckLive(n));
  return Out(n);
}

Result<EntryOut> View::SetAttr(Ino ino, const SetAttrIn& in, const Cred& cred) {
  Lock lock(mu_);
  Node* n = Get(ino);
  if (n == nullptr) return PosixError(ENOENT, "inode not found");
  const bool times = in.atime_ns || in.mtime_ns || in.atime_now || in.mtime_now;
  if (in.mode || in.uid || in.gid || in.size || times) {
    RETURN_IF_ERROR(CheckWritable());
    if (!in.via_handle) RETURN_IF_ERROR(CheckLive(n));
  }
  const bool owner = cred.uid() == n->attr.uid || cred.Capable(CAP_FOWNER);
  // Without FUSE_CAP_HANDLE_KILLPRIV the kernel clears set-id bits itself
  // when a non-owner writes or truncates (file_remove_privs): that arrives
  // as a mode change, only clearing S_ISUID/S_ISGID, from the writer.
  constexpr uint32_t kSetId = S_ISUID | S_ISGID;
  const bool kill_priv = in.mode && !in.uid && !in.gid && n->type == NodeType::kFile &&
                         (*in.mode & 07777) != n->attr.mode &&
                         (*in.mode & 07777 & ~n->attr.mode) == 0 &&
                         (*in.mode & ~kSetId) == (n->attr.mode & ~kSetId);
  if (in.mode && !owner) {
    if (!kill_priv) return PosixError(EPERM, "only the owner may change the mode");
    RETURN_IF_ERROR(CheckAccess(n, cred, kMayWrite));
  }
  if (in.uid &&
      !(cred.Capable(CAP_CHOWN) || (cred.uid() == n->attr.uid && *in.uid == n->attr.uid))) {
    return PosixError(EPERM, "only root may change the owner");
  }
  if (in.gid && !(cred.Capable(CAP_CHOWN) || (cred.uid() == n->attr.uid &&
                                              (*in.gid == n->attr.gid || cred.InGroup(*in.gid))))) {
    return PosixError(EPERM, "may not change the group");
  }
  if (in.size) {
    if (n->is_dir()) return PosixError(EISDIR, "is a directory");
    if (n->type != NodeType::kFile) return PosixError(EINVAL, "not a regular file");
    if (!in.via_handle) RETURN_IF_ERROR(CheckAccess(n, cred, kMayWrite));
  }
  // Linux lets a non-owner with write permission set only both times to
  // "now" (utimensat(NULL) or UTIME_NOW twice); one time alone is
  // utimensat with UTIME_OMIT, which needs ownership like explicit times.
  // truncate(2) sends the size with mtime "now".
  const bool set_atime = in.atime_ns || in.atime_now;
  const bool set_mtime = in.mtime_ns || in.mtime_now;
  const bool explicit_times = (in.atime_ns && !in.atime_now) || (in.mtime_ns && !in.mtime_now) ||
                              (set_atime != set_mtime && !in.size);
  if (explicit_times) {
    if (!owner) return PosixError(EPERM, "only the owner may set explicit times");
  } else if ((set_atime || set_mtime) && !owner && !(in.size && in.via_handle)) {
    RETURN_IF_ERROR(CheckAccess(n, cred, kMayWrite));
  }

  Pin pin(this, n);
  const int64_t now = NowNs();
  bool changed = false;
  if (in.size) {
    if (n->upper == nullptr) {
      RETURN_IF_ERROR(EnsureUpper(lock, n, *in.size == 0, std::min(*in.size, n->attr.size)));
    }
    RETURN_IF_ERROR(n->upper->Truncate(*in.size));
    n->attr.size = *in.size;
    n->attr.mtime_ns = now;
    changed = true;
  }
  mount::JournalRecord rec;
  rec.set_op(mount::JournalRecord::SETATTR);
  bool attrs = false;
  if (in.mode) {
    uint32_t mode = *in.mode & 07777;
    if (!cred.Capable(CAP_FSETID) && !cred.InGroup(in.gid ? *in.gid : n->attr.gid)) {
      mode &= ~S_ISGID;
    }
    n->attr.mode = mode;
    rec.set_mode(mode);
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
    MarkDirty(n);
    if (changed) {
      RETURN_IF_ERROR(JournalPut(n));
      if (journal_ != nullptr) n->journaled_gen = journal_->gen();
    }
    if (attrs) {
      auto put = [&](const Path& p) {
        mount::JournalRecord r = rec;
        for (const std::string& c : p) r.add_path(c);
        return JournalRecord(std::move(r));
      };
      if (n->ino == kRootIno) {
        RETURN_IF_ERROR(put(Path()));
      } else {
        if (n->parent != nullptr) RETURN_IF_ERROR(put(ChildPath(n->parent, n->name)));
        for (const auto& [dir, name] : n->more_names) RETURN_IF_ERROR(put(ChildPath(dir, name)));
      }
    }
  }
  return Out(n);
}

Result<std::string> View::ReadLink(Ino ino) {
  Lock lock(mu_);
  Node* n = Get(ino);
  if (n == nullptr) return PosixError(ENOENT, "inode not found");
  if (n->type != NodeType::kSymlink || n->entry == nullptr) {
    return PosixError(EINVAL, "not a symbolic link");
  }
  return n->entry->symlink_target();
}

Result<EntryOut> View::Mknod(Ino parent, const std::string& name, uint32_t mode, uint64_t rdev,
                             const Cred& cred) {
  NodeType type;
  switch (mode & S_IFMT) {
    case S_IFREG:
    case 0:
      type = NodeType::kFile;
      break;
    case S_IFIFO:
      type = NodeType::kFifo;
      break;
    case S_IFSOCK:
      type = NodeType::kSocket;
      break;
    case S_IFCHR:
      type = NodeType::kCharDevice;
      break;
    case S_IFBLK:
      type = NodeType::kBlockDevice;
      break;
    default:
      return PosixError(EINVAL, "unsupported file type");
  }
  Lock lock(mu_);
  ASSIGN_OR_RETURN(Node * dir, GetDir(parent));
  Node* existing = nullptr;
  RETURN_IF_ERROR(CheckCreate(lock, dir, name, cred, &existing));
  if (existing != nullptr) return PosixError(EEXIST, "'" + name + "' exists");
  if ((type == NodeType::kCharDevice || type == NodeType::kBlockDevice) &&
      !cred.Capable(CAP_MKNOD)) {
    return PosixError(EPERM, "only root may create device files");
  }
  RETURN_IF_ERROR(CheckInodeRoom(1));
  Attr attr = NewAttr(dir, mode, cred, false);
  if (type == NodeType::kCharDevice || type == NodeType::kBlockDevice) attr.rdev = rdev;
  std::shared_ptr<UpperFile> upper;
  if (type == NodeType::kFile) {
    const uint64_t id = next_upper_++;
    ASSIGN_OR_RETURN(upper, UpperFile::Create(options_.data_dir + "/" + std::to_string(id), id));
    upper->EnableStreaming(objects_);
  }
  Node* n = NewLocal(type, attr);
  n->upper = std::move(upper);
  Bind(dir, name, n);
  ++inode_delta_;
  Touch(dir);
  RETURN_IF_ERROR(JournalPut(n));
  if (journal_ != nullptr) n->journaled_gen = journal_->gen();
  table_.Ref(n);
  return Out(n);
}

Result<EntryOut> View::Mkdir(Ino parent, const std::string& name, uint32_t mode, const Cred& cred) {
  Lock lock(mu_);
  ASSIGN_OR_RETURN(Node * dir, GetDir(parent));
  Node* existing = nullptr;
  RETURN_IF_ERROR(CheckCreate(lock, dir, name, cred, &existing));
  if (existing != nullptr) return PosixError(EEXIST, "'" + name + "' exists");
  RETURN_IF_ERROR(CheckInodeRoom(1));
  Node* n = NewLocal(NodeType::kDir, NewAttr(dir, mode, cred, true));
  Bind(dir, name, n);
  ++inode_delta_;
  Touch(dir);
  const Path path = ChildPath(dir, name);
  if (dir->dir->children[name].replaced) {
    mount::JournalRecord del;
    del.set_op(mount::JournalRecord::DELETE);
    for (const std::string& c : path) del.add_path(c);
    RETURN_IF_ERROR(JournalRecord(std::move(del)));
  }
  RETURN_IF_ERROR(JournalPutAt(path, n));
  table_.Ref(n);
  return Out(n);
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
  RETURN_IF_ERROR(CheckInodeRoom(1));
  Attr attr = NewAttr(dir, 0777, cred, false);
  attr.size = target.size();
  Node* n = NewLocal(NodeType::kSymlink, attr);
  n->entry->set_symlink_target(target);
  Bind(dir, name, n);
  ++inode_delta_;
  Touch(dir);
  RETURN_IF_ERROR(JournalPut(n));
  table_.Ref(n);
  return Out(n);
}

Result<EntryOut> View::Link(Ino ino, Ino new_parent, const std::string& new_name,
                            const Cred& cred) {
  Lock lock(mu_);
  Node* n = Get(ino);
  if (n == nullptr) return PosixError(ENOENT, "inode not found");
  if (n->is_dir()) return PosixError(EPERM, "cannot hard-link a directory");
  ASSIGN_OR_RETURN(Node * dir, GetDir(new_parent));
  Pin pin(this, n);
  for (;;) {
    Node* existing = nullptr;
    RETURN_IF_ERROR(CheckCreate(lock, dir, new_name, cred, &existing));
    if (existing != nullptr) return PosixError(EEXIST, "'" + new_name + "' exists");
    RETURN_IF_ERROR(CheckInodeRoom(1));
    RETURN_IF_ERROR(CheckReachable(n, "file"));
    if (n->entry == nullptr) {
      RETURN_IF_ERROR(EnsureEntry(lock, n));
      continue;  // the lock was released: check again
    }
    break;
  }
  if (n->link_id == 0) {
    n->link_id = NewLinkId();
    links_[n->link_id] = n;
    MarkDirty(n);
    RETURN_IF_ERROR(JournalPut(n));
  }
  Bind(dir, new_name, n);
  ++inode_delta_;
  Touch(dir);
  n->attr.ctime_ns = NowNs();
  RETURN_IF_ERROR(JournalPutAt(ChildPath(dir, new_name), n));
  table_.Ref(n);
  return Out(n);
}

Status View::Unlink(Ino parent, const std::string& name, const Cred& cred) {
  RETURN_IF_ERROR(CheckWritable());
  Lock lock(mu_);
  ASSIGN_OR_RETURN(Node * dir, GetDir(parent));
  RETURN_IF_ERROR(CheckLive(dir));
  RETURN_IF_ERROR(CheckName(name));
  RETURN_IF_ERROR(CheckAccess(dir, cred, kMayExec));
  ASSIGN_OR_RETURN(Node * n, Resolve(lock, dir, name));
  if (n == nullptr) return PosixError(ENOENT, "'" + name + "' not found");
  Pin pin(this, n);
  RETURN_IF_ERROR(CheckAccess(dir, cred, kMayWrite | kMayExec));
  if (!MayDeleteFromSticky(dir->attr.mode, dir->attr.uid, n->attr.uid, cred)) {
    return PosixError(EPERM, "sticky directory");
  }
  if (n->is_dir()) return PosixError(EISDIR, "'" + name + "' is a directory");
  const Path path = ChildPath(dir, name);
  RemoveName(dir, name, n);
  --inode_delta_;
  Touch(dir);
  n->attr.ctime_ns = NowNs();
  mount::JournalRecord rec;
  rec.set_op(mount::JournalRecord::DELETE);
  for (const std::string& c : path) rec.add_path(c);
  return JournalRecord(std::move(rec));
}

// Whether directory `d` shows no entries. May read base tree pages with the
// lock held (only for directories the caller is about to remove).
static Result<bool> DirIsEmpty(TreeCache* trees, const Node* d) {
  for (const auto& [name, c] : d->dir->children) {
    if (c.node != nullptr) return false;
  }
  if (!d->dir->tree || volume::IsEmptyTree(*d->dir->tree)) return true;
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(std::vector<Entry> batch, trees->List(*d->dir->tree, after, 1024));
    for (const Entry& e : batch) {
      auto it = d->dir->children.find(e.name());
      if (it == d->dir->children.end()) return false;  // a base entry not deleted here
    }
    if (batch.size() < 1024) return true;
    after = batch.back().name();
  }
}

Status View::Rmdir(Ino parent, const std::string& name, const Cred& cred) {
  RETURN_IF_ERROR(CheckWritable());
  Lock lock(mu_);
  ASSIGN_OR_RETURN(Node * dir, GetDir(parent));
  RETURN_IF_ERROR(CheckLive(dir));
  RETURN_IF_ERROR(CheckName(name));
  RETURN_IF_ERROR(CheckAccess(dir, cred, kMayExec));
  ASSIGN_OR_RETURN(Node * n, Resolve(lock, dir, name));
  if (n == nullptr) return PosixError(ENOENT, "'" + name + "' not found");
  Pin pin(this, n);
  RETURN_IF_ERROR(CheckAccess(dir, cred, kMayWrite | kMayExec));
  if (!MayDeleteFromSticky(dir->attr.mode, dir->attr.uid, n->attr.uid, cred)) {
    return PosixError(EPERM, "sticky directory");
  }
  if (!n->is_dir()) return PosixError(ENOTDIR, "'" + name + "' is not a directory");
  ASSIGN_OR_RETURN(bool empty, DirIsEmpty(trees_, n));
  if (!empty) return PosixError(ENOTEMPTY, "'" + name + "' is not empty");
  const Path path = ChildPath(dir, name);
  RemoveName(dir, name, n);
  n->dir->children.clear();
  n->dir->tree.reset();
  ++n->dir->tree_gen;
  --inode_delta_;
  Touch(dir);
  mount::JournalRecord rec;
  rec.set_op(mount::JournalRecord::DELETE);
  for (const std::string& c : path) rec.add_path(c);
  return JournalRecord(std::move(rec));
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
  RETURN_IF_ERROR(CheckAccess(d1, cred, kMayExec));
  RETURN_IF_ERROR(CheckAccess(d2, cred, kMayExec));
  RETURN_IF_ERROR(CheckReachable(d2, "target directory"));
  Node* src = nullptr;
  Node* dst = nullptr;
  std::optional<Pin> src_pin, dst_pin;
  for (;;) {
    ASSIGN_OR_RETURN(src, Resolve(lock, d1, name));
    if (src == nullptr) return PosixError(ENOENT, "'" + name + "' not found");
    if (!src_pin || src_pin->node != src) {
      src_pin.reset();
      src_pin.emplace(this, src);
    }
    if (src->entry == nullptr && (src->type == NodeType::kFile || src->base_xattrs)) {
      RETURN_IF_ERROR(EnsureEntry(lock, src));
      continue;
    }
    ASSIGN_OR_RETURN(dst, Resolve(lock, d2, new_name));
    auto again = d1->dir->children.find(name);
    if (again == d1->dir->children.end() || again->second.node != src) continue;
    if (!dst_pin || dst_pin->node != dst) {
      dst_pin.reset();
      dst_pin.emplace(this, dst);
    }
    break;
  }
  if (src == dst) return Status::Ok();
  if (dst != nullptr && (flags & RENAME_NOREPLACE)) {
    return PosixError(EEXIST, "'" + new_name + "' exists");
  }
  RETURN_IF_ERROR(CheckAccess(d1, cred, kMayWrite | kMayExec));
  RETURN_IF_ERROR(CheckAccess(d2, cred, kMayWrite | kMayExec));
  if (!MayDeleteFromSticky(d1->attr.mode, d1->attr.uid, src->attr.uid, cred) ||
      (dst != nullptr && !MayDeleteFromSticky(d2->attr.mode, d2->attr.uid, dst->attr.uid, cred))) {
    return PosixError(EPERM, "sticky directory");
  }
  if (src->is_dir()) {
    for (const Node* p = d2; p != nullptr; p = p->parent) {
      if (p == src) return PosixError(EINVAL, "cannot move a directory into itself");
    }
    if (dst != nullptr) {
      if (!dst->is_dir()) return PosixError(ENOTDIR, "'" + new_name + "' is not a directory");
      ASSIGN_OR_RETURN(bool empty, DirIsEmpty(trees_, dst));
      if (!empty) return PosixError(ENOTEMPTY, "'" + new_name + "' is not empty");
    }
    if (d1 != d2) RETURN_IF_ERROR(CheckAccess(src, cred, kMayWrite));
  } else if (dst != nullptr && dst->is_dir()) {
    return PosixError(EISDIR, "'" + new_name + "' is a directory");
  }

  const Path from = ChildPath(d1, name);
  const Path to = ChildPath(d2, new_name);
  RemoveName(d1, name, src);
  if (dst != nullptr) {
    RemoveName(d2, new_name, dst);
    if (dst->is_dir()) {
      dst->dir->children.clear();
      dst->dir->tree.reset();
      ++dst->dir->tree_gen;
    }
    --inode_delta_;
    dst->attr.ctime_ns = NowNs();
  }
  if (src->entry == nullptr) {
    src->entry = std::make_unique<Entry>();
    src->entry->set_type(EntryTypeOf(src->type));
  }
  src->at_origin = false;
  Bind(d2, new_name, src);
  src->attr.ctime_ns = NowNs();
  Touch(d1);
  Touch(d2);
  mount::JournalRecord rec;
  rec.set_op(mount::JournalRecord::RENAME);
  for (const std::string& c : from) rec.add_path(c);
  for (const std::string& c : to) rec.add_to(c);
  return JournalRecord(std::move(rec));
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
  if (n == nullptr) return PosixError(ENOENT, "inode not found");
  if ((mask & kMayWrite) && options_.read_only) return PosixError(EROFS, "read-only mount");
  return CheckAccess(n, cred, mask);
}

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
  const uint64_t used = static_cast<uint64_t>(
      std::max<int64_t>(0, static_cast<int64_t>(base_.inodes()) + inode_delta_));
  out.files = options_.inode_limit;
  out.files_free = used >= options_.inode_limit ? 0 : options_.inode_limit - used;
  return out;
}

// ---------------------------------------------------------------------------
// Files.

Result<OpenOut> View::Open(Ino ino, int flags, const Cred& cred) {
  Lock lock(mu_);
  Node* n = Get(ino);
  if (n == nullptr) return PosixError(ENOENT, "inode not found");
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
  RETURN_IF_ERROR(CheckAccess(n, cred, mask));
  if (n->type != NodeType::kFile) return PosixError(EINVAL, "not a regular file");
  Pin pin(this, n);
  if (trunc) {
    if (n->upper == nullptr) {
      RETURN_IF_ERROR(EnsureUpper(lock, n, true, 0));
    } else {
      RETURN_IF_ERROR(n->upper->Truncate(0));
    }
    // O_TRUNC changes mtime and ctime even of an empty file (Linux, POSIX
    // "shall mark for update", pjdfstest open/00).
    n->attr.size = 0;
    n->attr.mtime_ns = n->attr.ctime_ns = NowNs();
    // The kernel's kill-priv for open(O_TRUNC) never reaches us (with
    // atomic O_TRUNC it drops that setattr), so clear the set-id bits as
    // it would: for anyone but root, set-gid only with group exec.
    if (!cred.Capable(CAP_FSETID)) {
      n->attr.mode &= ~(S_ISUID | ((n->attr.mode & S_IXGRP) != 0 ? S_ISGID : 0u));
    }
    MarkDirty(n);
    RETURN_IF_ERROR(JournalPut(n));
    if (journal_ != nullptr) n->journaled_gen = journal_->gen();
  } else if (write) {
    RETURN_IF_ERROR(EnsureUpper(lock, n, false, n->attr.size));
    MarkKept(n);
  }
  std::shared_ptr<const FileLayout> layout;
  if (!write && !trunc && n->upper == nullptr) {
    ASSIGN_OR_RETURN(layout, EnsureLayout(lock, n));
  }
  auto h = std::make_unique<Handle>();
  h->node = n;
  h->writable = write;
  h->layout = std::move(layout);
  Handle* raw = h.get();
  handles_.emplace(raw, std::move(h));
  ++n->opens;
  if (write) {
    ++n->writers;
    n->upper->AddWriter();
    raw->upper = n->upper;
  }
  return OpenOut{raw, true};
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
      RETURN_IF_ERROR(CheckInodeRoom(1));
      const uint64_t id = next_upper_++;
      ASSIGN_OR_RETURN(std::shared_ptr<UpperFile> upper,
                       UpperFile::Create(options_.data_dir + "/" + std::to_string(id), id));
      upper->EnableStreaming(objects_);
      Node* n = NewLocal(NodeType::kFile, NewAttr(dir, mode, cred, false));
      n->upper = std::move(upper);
      Bind(dir, name, n);
      ++inode_delta_;
      Touch(dir);
      RETURN_IF_ERROR(JournalPut(n));
      if (journal_ != nullptr) n->journaled_gen = journal_->gen();
      table_.Ref(n);
      auto h = std::make_unique<Handle>();
      h->node = n;
      h->writable = (flags & O_ACCMODE) != O_RDONLY;
      Handle* raw = h.get();
      handles_.emplace(raw, std::move(h));
      ++n->opens;
      if (raw->writable) {
        ++n->writers;
        n->upper->AddWriter();
        raw->upper = n->upper;
      }
      return std::make_pair(Out(n), OpenOut{raw, true});
    }
  }
  // The name appeared meanwhile and O_EXCL was not asked for: open it.
  Result<OpenOut> opened = Open(existing_ino, flags & ~O_CREAT, cred);
  Lock lock(mu_);
  Node* n = Get(existing_ino);
  if (!opened.ok()) {
    if (n != nullptr && table_.Forget(n, 1)) MaybeDrop(n);
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
      ASSIGN_OR_RETURN(layout, EnsureLayout(lock, n));
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

View::DirectWrite View::BeforeDirectWrite(const Handle* h, const Cred& cred) const {
  Lock lock(mu_);
  DirectWrite out;
  out.open_elsewhere = h->node->opens > 1;
  if (cred.Capable(CAP_FSETID)) return out;
  const uint32_t mode = h->node->attr.mode & 07777;
  uint32_t kill = mode & S_ISUID;
  if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)) kill |= S_ISGID;
  if (kill != 0) out.mode = mode & ~kill;
  return out;
}

Result<size_t> View::Write(Handle* h, uint64_t off,
                           const std::function<Result<size_t>(const UpperFile::Use&)>& io) {
  std::shared_ptr<UpperFile> upper;
  {
    Lock lock(mu_);
    if (!h->writable) return PosixError(EBADF, "not open for writing");
    upper = h->node->upper;
  }
  if (upper == nullptr) return PosixError(EIO, "no upper file for a writable handle");
  Result<size_t> written = Status::Internal("unset");
  {
    ASSIGN_OR_RETURN(UpperFile::Use use, upper->Acquire());
    UpperFile::WriteScope scope(upper.get());
    written = io(use);
  }
  if (!written.ok()) return written;
  Lock lock(mu_);
  Node* n = h->node;
  n->attr.size = std::max<uint64_t>(n->attr.size, off + *written);
  n->attr.mtime_ns = n->attr.ctime_ns = NowNs();
  MarkDirty(n);
  if (journal_ != nullptr && n->journaled_gen != journal_->gen()) {
    RETURN_IF_ERROR(JournalPut(n));
    n->journaled_gen = journal_->gen();
  }
  return written;
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
    MaybeDrop(n);
  }
  // Waits for the stream's last chunks: not under the view's lock.
  if (closed != nullptr) closed->SealStream();
}

Status View::SyncJournal() {
  if (journal_ == nullptr) return Status::Ok();
  return journal_->Sync();
}

// ---------------------------------------------------------------------------
// Directories.

Result<Handle*> View::OpenDir(Ino ino, const Cred& cred) {
  Lock lock(mu_);
  Node* n = Get(ino);
  if (n == nullptr) return PosixError(ENOENT, "inode not found");
  RETURN_IF_ERROR(CheckLive(n));
  if (!n->is_dir()) return PosixError(ENOTDIR, "not a directory");
  RETURN_IF_ERROR(CheckAccess(n, cred, kMayRead));
  auto h = std::make_unique<Handle>();
  h->node = n;
  h->dir = true;
  h->tree = n->dir->tree;
  Handle* raw = h.get();
  handles_.emplace(raw, std::move(h));
  ++n->opens;
  return raw;
}

Status View::ReadDir(Handle* h, uint64_t off, bool plus,
                     const std::function<bool(const DirEntryOut&)>& add) {
  constexpr size_t kBatch = 256;
  uint64_t skip = 0;
  if (off != h->next_off) {
    // A seek (or a restart): list again from the beginning up to `off`.
    h->next_off = 0;
    h->last.clear();
    h->base_done = false;
    skip = off;
  }
  auto emit = [&](DirEntryOut out) -> bool {
    out.next_off = h->next_off + 1;
    if (skip > 0) {
      --skip;
      h->next_off = out.next_off;
      return true;
    }
    if (!add(out)) return false;
    h->next_off = out.next_off;
    return true;
  };
  {
    Lock lock(mu_);
    Node* d = h->node;
    if (h->next_off == 0) {
      DirEntryOut dot;
      dot.name = ".";
      dot.type = NodeType::kDir;
      dot.ino = d->ino;
      if (!emit(dot)) return Status::Ok();
    }
    if (h->next_off == 1) {
      DirEntryOut dotdot;
      dotdot.name = "..";
      dotdot.type = NodeType::kDir;
      dotdot.ino = d->parent != nullptr ? d->parent->ino : d->ino;
      if (!emit(dotdot)) return Status::Ok();
    }
  }
  for (;;) {
    TreeCache::Listing listing;
    const std::vector<const Entry*>& batch = listing.entries;
    bool base_done = h->base_done || !h->tree || volume::IsEmptyTree(*h->tree);
    if (!base_done) {
      ASSIGN_OR_RETURN(listing, trees_->ListRefs(*h->tree, h->last, kBatch));
      base_done = batch.size() < kBatch;
    }
    Lock lock(mu_);
    Node* d = h->node;
    const auto& children = d->dir->children;
    // Merge base entries and the mount's children in name order, up to the
    // last base name of this batch (or everything when the base is done).
    struct Item {
      const std::string* name;
      const Entry* base = nullptr;
      bool child = false;
    };
    std::vector<Item> items;
    auto cit = children.upper_bound(h->last);
    size_t bi = 0;
    while (bi < batch.size() ||
           (cit != children.end() && (base_done || cit->first <= batch.back()->name()))) {
      const bool have_child =
          cit != children.end() && (base_done || cit->first <= batch.back()->name());
      if (bi < batch.size() && (!have_child || batch[bi]->name() < cit->first)) {
        items.push_back(Item{&batch[bi]->name(), batch[bi], false});
        ++bi;
      } else if (bi < batch.size() && batch[bi]->name() == cit->first) {
        items.push_back(Item{&cit->first, batch[bi], true});
        ++bi;
        ++cit;
      } else {
        items.push_back(Item{&cit->first, nullptr, true});
        ++cit;
      }
    }
    const bool same_tree = h->tree == d->dir->tree;
    for (const Item& item : items) {
      const std::string name = *item.name;
      DirEntryOut out;
      out.name = name;
      Node* n = nullptr;
      if (item.child) {
        auto it = children.find(name);
        if (it == children.end()) continue;  // dropped meanwhile
        n = it->second.node;
        if (n == nullptr) {
          h->last = name;
          continue;  // whiteout
        }
      } else if (plus && same_tree && skip == 0) {
        // Build the node exactly as a lookup would (no lock release: the
        // entry is at hand).
        n = BindBaseEntry(d, name, *item.base);
      }
      if (n != nullptr) {
        out.type = n->type;
        out.ino = n->ino;
        if (plus && skip == 0) {
          table_.Ref(n);
          out.plus = Out(n);
        }
      } else {
        out.type = NodeTypeOf(item.base->type());
        out.ino = PseudoIno(d->ino, name);
      }
      if (!emit(out)) {
        if (out.plus && table_.Forget(n, 1)) MaybeDrop(n);
        return Status::Ok();
      }
      h->last = name;
    }
    if (!batch.empty() && !base_done) h->last = std::max(h->last, batch.back()->name());
    if (base_done) {
      h->base_done = true;
      if (cit == children.end() || items.empty()) return Status::Ok();
    }
  }
}

void View::ReleaseDir(Handle* h) { Release(h); }

// ---------------------------------------------------------------------------
// Extended attributes.

Status View::SetXattr(Ino ino, const std::string& name, const std::string& value, int flags,
                      const Cred& cred) {
  RETURN_IF_ERROR(CheckWritable());
  Lock lock(mu_);
  Node* n = Get(ino);
  if (n == nullptr) return PosixError(ENOENT, "inode not found");
  RETURN_IF_ERROR(CheckLive(n));
  if (IsUserXattr(name)) {
    if (n->type != NodeType::kFile && !n->is_dir()) {
      return PosixError(EPERM, "user xattrs only on files and directories");
    }
    if (cred.uid() != n->attr.uid) RETURN_IF_ERROR(CheckAccess(n, cred, kMayWrite));
  } else if (IsTrustedXattr(name)) {
    if (!cred.Capable(CAP_SYS_ADMIN)) return PosixError(EPERM, "trusted xattrs need CAP_SYS_ADMIN");
  } else {
    return PosixError(EOPNOTSUPP, "xattr namespace not supported");
  }
  Pin pin(this, n);
  if (n->entry == nullptr) RETURN_IF_ERROR(EnsureEntry(lock, n));
  auto* xs = n->entry->mutable_xattrs();
  auto it =
      std::lower_bound(xs->begin(), xs->end(), name,
                       [](const objects::Xattr& x, const std::string& k) { return x.name() < k; });
  const bool exists = it != xs->end() && it->name() == name;
  if ((flags & XATTR_CREATE) && exists) return PosixError(EEXIST, "xattr exists");
  if ((flags & XATTR_REPLACE) && !exists) return PosixError(ENODATA, "no such xattr");
  if (exists) {
    it->set_value(value);
  } else {
    objects::Xattr x;
    x.set_name(name);
    x.set_value(value);
    const int pos = static_cast<int>(it - xs->begin());
    xs->Add(std::move(x));
    for (int i = xs->size() - 1; i > pos; --i) xs->SwapElements(i, i - 1);
  }
  n->attr.ctime_ns = NowNs();
  n->xattrs_changed = true;
  MarkDirty(n);
  RETURN_IF_ERROR(JournalPut(n));
  if (journal_ != nullptr) n->journaled_gen = journal_->gen();
  return Status::Ok();
}

Result<std::string> View::GetXattr(Ino ino, const std::string& name, const Cred& cred) {
  Lock lock(mu_);
  Node* n = Get(ino);
  if (n == nullptr) return PosixError(ENOENT, "inode not found");
  if (IsUserXattr(name)) {
    if (n->type == NodeType::kFile || n->is_dir()) {
      RETURN_IF_ERROR(CheckAccess(n, cred, kMayRead));
    }
  } else if (IsTrustedXattr(name)) {
    if (!cred.Capable(CAP_SYS_ADMIN)) return PosixError(ENODATA, "no such xattr");
  } else {
    return PosixError(ENODATA, "no such xattr");
  }
  if (n->entry == nullptr) {
    if (!n->base_xattrs) return PosixError(ENODATA, "no such xattr");
    Pin pin(this, n);
    RETURN_IF_ERROR(EnsureEntry(lock, n));
  }
  for (const objects::Xattr& x : n->entry->xattrs()) {
    if (x.name() == name) return x.value();
  }
  return PosixError(ENODATA, "no such xattr");
}

Result<std::vector<std::string>> View::ListXattr(Ino ino, const Cred& cred) {
  Lock lock(mu_);
  Node* n = Get(ino);
  if (n == nullptr) return PosixError(ENOENT, "inode not found");
  std::vector<std::string> names;
  if (n->entry == nullptr) {
    if (!n->base_xattrs) return names;
    Pin pin(this, n);
    RETURN_IF_ERROR(EnsureEntry(lock, n));
  }
  for (const objects::Xattr& x : n->entry->xattrs()) {
    if (IsTrustedXattr(x.name()) && !cred.Capable(CAP_SYS_ADMIN)) continue;
    names.push_back(x.name());
  }
  return names;
}

Status View::RemoveXattr(Ino ino, const std::string& name, const Cred& cred) {
  RETURN_IF_ERROR(CheckWritable());
  Lock lock(mu_);
  Node* n = Get(ino);
  if (n == nullptr) return PosixError(ENOENT, "inode not found");
  RETURN_IF_ERROR(CheckLive(n));
  if (IsUserXattr(name)) {
    if (n->type != NodeType::kFile && !n->is_dir()) return PosixError(EPERM, "not supported");
    if (cred.uid() != n->attr.uid) RETURN_IF_ERROR(CheckAccess(n, cred, kMayWrite));
  } else if (IsTrustedXattr(name)) {
    if (!cred.Capable(CAP_SYS_ADMIN)) return PosixError(EPERM, "trusted xattrs need CAP_SYS_ADMIN");
  } else {
    return PosixError(EOPNOTSUPP, "xattr namespace not supported");
  }
  if (n->entry == nullptr) {
    if (!n->base_xattrs) return PosixError(ENODATA, "no such xattr");
    Pin pin(this, n);
    RETURN_IF_ERROR(EnsureEntry(lock, n));
  }
  auto* xs = n->entry->mutable_xattrs();
  auto it = std::find_if(xs->begin(), xs->end(),
                         [&](const objects::Xattr& x) { return x.name() == name; });
  if (it == xs->end()) return PosixError(ENODATA, "no such xattr");
  xs->erase(it);
  Pin pin(this, n);
  n->attr.ctime_ns = NowNs();
  n->xattrs_changed = true;
  MarkDirty(n);
  RETURN_IF_ERROR(JournalPut(n));
  if (journal_ != nullptr) n->journaled_gen = journal_->gen();
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Commit.

void View::AddPut(const Path& path, const Node* n, CommitPlan* plan) {
  CommitPlan::Op op;
  op.op.kind = ChangeOp::Kind::kPut;
  op.op.path = path;
  op.op.entry = EntryFor(n);
  op.node = n->ino;
  if (n->type == NodeType::kFile && n->upper != nullptr) {
    op.upper = n->upper;
    op.op.entry.clear_content();
  }
  plan->ops.push_back(std::move(op));
}

void View::EmitNode(Node* dir, const std::string& name, const Child& child, const Path& path,
                    bool force, CommitPlan* plan, std::set<Ino>* emitted) {
  Node* n = child.node;
  const bool binding = child.pending || force;
  auto mark_child = [&] {
    plan->children.push_back(CommitPlan::ChildMark{dir->ino, name, child.seq, n ? n->ino : 0});
  };
  auto mark_node = [&] { plan->nodes.push_back(CommitPlan::NodeMark{n->ino, n->seq}); };
  if (n == nullptr) {
    if (binding) {
      CommitPlan::Op op;
      op.op.kind = ChangeOp::Kind::kDelete;
      op.op.path = path;
      plan->ops.push_back(std::move(op));
      mark_child();
    }
    return;
  }
  if (n->is_dir()) {
    if (binding && !n->at_origin) {
      if (n->dir->tree) {
        AddPut(path, n, plan);
      } else {
        if (child.replaced) {
          CommitPlan::Op del;
          del.op.kind = ChangeOp::Kind::kDelete;
          del.op.path = path;
          plan->ops.push_back(std::move(del));
        }
        CommitPlan::Op op;
        op.op.kind = ChangeOp::Kind::kMkdir;
        op.op.path = path;
        op.op.entry = EntryFor(n);
        // Only xattrs this mount changed replace the head's (a chmod of a
        // directory whose xattrs were merely read must not revert another
        // mount's); the entry then holds the whole set (EnsureEntry loaded
        // the base's first).
        op.op.set_xattrs = n->xattrs_changed && n->entry != nullptr;
        op.node = n->ino;
        plan->ops.push_back(std::move(op));
      }
      mark_child();
      mark_node();
      EmitDir(n, path, true, plan, emitted);
      return;
    }
    // Under `force` an ancestor is re-published from this mount's base
    // tree, which lacks what earlier commits of this mount changed here
    // (attributes, xattrs): a directory holding local state states it again.
    if (n->dirty || (force && n->kept)) {
      CommitPlan::Op op;
      op.op.kind = ChangeOp::Kind::kMkdir;
      op.op.path = path;
      op.op.entry = EntryFor(n);
      op.op.set_xattrs = (n->xattrs_changed || force) && n->entry != nullptr;
      op.node = n->ino;
      plan->ops.push_back(std::move(op));
      mark_node();
    }
    if (child.pending) mark_child();
    if (force && n->kept) EmitDir(n, path, true, plan, emitted);
    return;
  }
  if (!(binding || n->dirty || (force && n->kept))) return;
  // A node at its base entry whose entry was never loaded: its content is
  // known only from the base tree, so it is published as a SetAttr of its
  // attributes (a Put from the node would carry no content). Under `force`
  // the ancestor re-publishes that base tree: an untouched node is in it
  // already, but one whose attributes this mount changed (kept), even if
  // an earlier commit took the change, must state them again.
  const bool unloaded = n->at_origin && n->upper == nullptr && n->entry == nullptr;
  if (unloaded && !child.pending && !n->dirty && !n->kept) return;
  if (unloaded && !child.pending) {
    CommitPlan::Op op;
    op.op.kind = ChangeOp::Kind::kSetAttr;
    op.op.path = path;
    op.op.attrs.mode = n->attr.mode;
    op.op.attrs.uid = n->attr.uid;
    op.op.attrs.gid = n->attr.gid;
    op.op.attrs.mtime_ns = n->attr.mtime_ns;
    op.node = n->ino;
    plan->ops.push_back(std::move(op));
  } else {
    AddPut(path, n, plan);
  }
  mark_child();
  mark_node();
}

void View::EmitDir(Node* dir, const Path& path, bool force, CommitPlan* plan,
                   std::set<Ino>* emitted) {
  emitted->insert(dir->ino);
  for (const auto& [name, child] : dir->dir->children) {
    Path p = path;
    p.push_back(name);
    EmitNode(dir, name, child, p, force, plan, emitted);
  }
}

Result<CommitPlan> View::PlanCommit(bool final) {
  Lock lock(mu_);
  CommitPlan plan;
  plan.final = final;
  if (journal_ != nullptr) {
    ASSIGN_OR_RETURN(plan.closed_gen, journal_->Rotate());
  }
  std::vector<std::pair<Path, Node*>> dirs;
  for (Ino ino : pending_dirs_) {
    Node* d = Get(ino);
    if (d == nullptr || !d->is_dir() || !Attached(d)) continue;
    dirs.emplace_back(PathOf(d), d);
  }
  std::sort(dirs.begin(), dirs.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  Node* root = table_.root();
  if (root->dirty) {
    CommitPlan::Op op;
    op.op.kind = ChangeOp::Kind::kSetAttr;
    op.op.attrs.mode = root->attr.mode;
    op.op.attrs.uid = root->attr.uid;
    op.op.attrs.gid = root->attr.gid;
    op.op.attrs.mtime_ns = root->attr.mtime_ns;
    op.node = kRootIno;
    plan.ops.push_back(std::move(op));
    plan.nodes.push_back(CommitPlan::NodeMark{kRootIno, root->seq});
  }
  std::set<Ino> emitted;
  for (const auto& [path, d] : dirs) {
    if (emitted.count(d->ino) != 0) continue;
    EmitDir(d, path, false, &plan, &emitted);
  }
  // From here until FinishCommit the head may come to hold every name this
  // plan publishes, whatever the mount does to the name meanwhile.
  for (const CommitPlan::ChildMark& m : plan.children) {
    if (m.node == 0) continue;
    Node* d = Get(m.dir);
    if (d == nullptr || !d->is_dir()) continue;
    auto it = d->dir->children.find(m.name);
    if (it != d->dir->children.end()) it->second.in_commit = true;
  }
  return plan;
}

Status View::FinishCommit(const CommitPlan& plan, bool landed, const std::set<Ino>& deferred) {
  Lock lock(mu_);
  for (const CommitPlan::ChildMark& m : plan.children) {
    Node* d = Get(m.dir);
    if (d == nullptr || !d->is_dir()) continue;
    auto it = d->dir->children.find(m.name);
    if (it == d->dir->children.end()) continue;
    Child& c = it->second;
    c.in_commit = false;
    const bool published = landed && (m.node == 0 || deferred.count(m.node) == 0);
    if (!published) {
      // A whiteout left only because this commit might publish the name.
      if (c.node == nullptr && c.pending && !c.replaced) d->dir->children.erase(it);
      continue;
    }
    if (c.seq == m.seq) {
      c.pending = false;
      c.replaced = true;
    } else if (m.node != 0) {
      // Changed while the commit ran: still pending, and the head now holds
      // what the commit published here, which the next commit must replace
      // or delete.
      c.replaced = true;
    }
  }
  if (!landed) return Status::Ok();
  for (const CommitPlan::NodeMark& m : plan.nodes) {
    if (deferred.count(m.node) != 0) continue;
    Node* n = Get(m.node);
    if (n != nullptr && n->seq == m.seq) {
      n->dirty = false;
      n->xattrs_changed = false;
    }
  }
  for (auto it = pending_dirs_.begin(); it != pending_dirs_.end();) {
    Node* d = Get(*it);
    bool pending = d != nullptr && d->is_dir() && d->ino == kRootIno && d->dirty;
    if (d != nullptr && d->is_dir()) {
      for (const auto& [name, c] : d->dir->children) {
        if (c.pending || (c.node != nullptr && c.node->dirty)) {
          pending = true;
          break;
        }
      }
    }
    it = pending ? std::next(it) : pending_dirs_.erase(it);
  }
  // Deferred nodes are still pending but the journal generations holding
  // their records are about to go: write them again, at their current paths.
  for (Ino ino : deferred) {
    Node* n = Get(ino);
    if (n != nullptr && Attached(n)) {
      RETURN_IF_ERROR(JournalPut(n));
      if (journal_ != nullptr) n->journaled_gen = journal_->gen();
    }
  }
  if (journal_ != nullptr) RETURN_IF_ERROR(journal_->RemoveThrough(plan.closed_gen));
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Reload.

bool View::PendingBelow(const Node* d) const {
  for (const auto& [name, c] : d->dir->children) {
    if (c.pending) return true;
    const Node* n = c.node;
    if (n == nullptr) continue;
    if (n->dirty || n->writers > 0) return true;
    if (n->is_dir() && n->kept && PendingBelow(n)) return true;
  }
  return false;
}

void View::DetachName(Node* dir, const std::string& name, Invalidations* inv) {
  auto it = dir->dir->children.find(name);
  if (it == dir->dir->children.end()) return;
  Node* n = it->second.node;
  dir->dir->children.erase(it);
  inv->entries.emplace_back(dir->ino, name);
  if (n == nullptr) return;
  if (n->parent == dir && n->name == name) {
    if (!n->more_names.empty()) {
      n->parent = n->more_names.back().first;
      n->name = std::move(n->more_names.back().second);
      n->more_names.pop_back();
    } else {
      n->parent = nullptr;
      n->name.clear();
    }
  } else {
    auto& more = n->more_names;
    more.erase(std::remove_if(more.begin(), more.end(),
                              [&](const auto& p) { return p.first == dir && p.second == name; }),
               more.end());
  }
  if (n->names() == 0) {
    auto l = links_.find(n->link_id);
    if (l != links_.end() && l->second == n) links_.erase(l);
    n->at_origin = false;
    n->stale = true;
  }
  MaybeDrop(n);
}

Status View::PruneToPending(Node* d, Invalidations* inv) {
  std::vector<std::string> names;
  for (const auto& [name, c] : d->dir->children) names.push_back(name);
  for (const std::string& name : names) {
    auto it = d->dir->children.find(name);
    Child& c = it->second;
    Node* n = c.node;
    if (n == nullptr) {
      d->dir->children.erase(it);
      continue;
    }
    const bool keep = c.pending || n->dirty || n->writers > 0 || (n->is_dir() && PendingBelow(n));
    if (!keep) {
      DetachName(d, name, inv);
      continue;
    }
    if (n->entry == nullptr && n->at_origin && d->dir->tree) {
      ASSIGN_OR_RETURN(std::optional<Entry> e, trees_->Lookup(*d->dir->tree, name));
      n->entry = e ? std::make_unique<Entry>(std::move(*e)) : std::make_unique<Entry>();
    }
    if (n->entry == nullptr) n->entry = std::make_unique<Entry>();
    n->at_origin = false;
    c.pending = true;
    c.seq = NextSeq();
    n->dirty = true;
    n->seq = NextSeq();
    if (n->is_dir()) {
      RETURN_IF_ERROR(PruneToPending(n, inv));
      n->dir->tree.reset();
      ++n->dir->tree_gen;
      inv->inodes.push_back(n->ino);
    }
    NotePendingDir(d);
  }
  return Status::Ok();
}

Status View::RebaseDir(Node* d, const Entry* entry, Invalidations* inv) {
  std::optional<Hash> new_tree;
  if (entry != nullptr) {
    ASSIGN_OR_RETURN(Hash t, volume::TreeOf(*entry));
    new_tree = volume::IsEmptyTree(t) ? volume::EmptyTreeHash() : t;
    if (!d->dirty) {
      Attr a = AttrOf(*entry);
      if (a.mode != d->attr.mode || a.uid != d->attr.uid || a.gid != d->attr.gid ||
          a.mtime_ns != d->attr.mtime_ns) {
        inv->inodes.push_back(d->ino);
      }
      if ((a.mode != d->attr.mode || a.uid != d->attr.uid || a.gid != d->attr.gid) &&
          (a.mode & 0111) != 0111) {
        // Not searchable by everybody any more: cached names must be
        // looked up again (NamesToRecheck).
        for (const auto& [name, c] : d->dir->children) {
          if (c.node != nullptr) inv->expire.emplace_back(d->ino, name);
        }
      }
      d->attr = a;
      d->entry.reset();
      d->base_xattrs = entry->xattrs_size() > 0;
    }
    d->fp = Fingerprint(*entry);
    d->dir->subtree_inodes = entry->subtree_inodes();
    d->dir->subtree_bytes = entry->subtree_bytes();
  }
  if (new_tree != d->dir->tree) {
    d->dir->tree = new_tree;
    ++d->dir->tree_gen;
    inv->inodes.push_back(d->ino);
  }
  std::vector<std::string> names;
  for (const auto& [name, c] : d->dir->children) names.push_back(name);
  for (const std::string& name : names) {
    auto it = d->dir->children.find(name);
    if (it == d->dir->children.end()) continue;
    Child& c = it->second;
    Node* n = c.node;
    if (n == nullptr) {
      if (!c.pending) d->dir->children.erase(it);
      continue;
    }
    std::optional<Entry> ne;
    if (d->dir->tree) {
      ASSIGN_OR_RETURN(ne, trees_->Lookup(*d->dir->tree, name));
    }
    if (n->is_dir()) {
      if (c.pending) continue;  // created or moved here: keeps its own content
      if (ne && ne->type() == objects::DIRECTORY) {
        n->at_origin = true;
        RETURN_IF_ERROR(RebaseDir(n, &*ne, inv));
        continue;
      }
      if (n->dirty || PendingBelow(n)) {
        // Gone from the new snapshot, but holds changes not committed yet:
        // keep those in a directory of its own.
        RETURN_IF_ERROR(PruneToPending(n, inv));
        if (n->entry == nullptr) n->entry = std::make_unique<Entry>();
        n->entry->set_type(objects::DIRECTORY);
        n->at_origin = false;
        n->dir->tree.reset();
        ++n->dir->tree_gen;
        c.pending = true;
        c.replaced = true;
        c.seq = NextSeq();
        n->dirty = true;
        n->seq = NextSeq();
        NotePendingDir(d);
        inv->inodes.push_back(n->ino);
        continue;
      }
      DetachName(d, name, inv);
      continue;
    }
    if (c.pending || n->dirty || n->writers > 0) continue;
    if (n->at_origin && n->upper == nullptr && ne && Fingerprint(*ne) == n->fp) continue;
    DetachName(d, name, inv);
  }
  bool kept = d->ino == kRootIno || !d->at_origin || d->dirty;
  for (auto& [name, c] : d->dir->children) {
    Node* n = c.node;
    if (n == nullptr) {
      kept = true;
      continue;
    }
    if (!n->is_dir()) {
      n->kept = !n->at_origin || n->dirty || n->upper != nullptr || n->entry != nullptr;
    }
    kept |= n->kept || c.pending;
  }
  d->kept = kept;
  return Status::Ok();
}

uint64_t View::CountPendingDelta(const Node* d) const {
  int64_t delta = 0;
  for (const auto& [name, c] : d->dir->children) {
    if (c.pending) delta += c.node == nullptr ? (c.replaced ? -1 : 0) : (c.replaced ? 0 : 1);
    if (c.node != nullptr && c.node->is_dir() && c.node->kept) {
      delta += static_cast<int64_t>(CountPendingDelta(c.node));
    }
  }
  return static_cast<uint64_t>(delta);
}

Result<Invalidations> View::Rebase(const volume::Snapshot& snap) {
  Lock lock(mu_);
  Invalidations inv;
  Node* root = table_.root();
  const Entry root_entry = snap.root();
  RETURN_IF_ERROR(RebaseDir(root, &root_entry, &inv));
  base_ = snap;
  inode_delta_ = static_cast<int64_t>(CountPendingDelta(root));
  return inv;
}

// ---------------------------------------------------------------------------
// Observability.

uint64_t View::base_version() const {
  Lock lock(mu_);
  return base_.version;
}

uint64_t View::PendingCount() const {
  Lock lock(mu_);
  uint64_t count = 0;
  for (Ino ino : pending_dirs_) {
    Node* d = Get(ino);
    if (d == nullptr || !d->is_dir() || !Attached(d)) continue;
    if (d->ino == kRootIno && d->dirty) ++count;
    for (const auto& [name, c] : d->dir->children) {
      if (c.pending || (c.node != nullptr && c.node->dirty)) ++count;
    }
  }
  return count;
}

bool View::HasPending() const { return PendingCount() > 0; }

uint64_t View::inodes() const {
  Lock lock(mu_);
  return static_cast<uint64_t>(
      std::max<int64_t>(0, static_cast<int64_t>(base_.inodes()) + inode_delta_));
}

size_t View::node_count() const {
  Lock lock(mu_);
  return table_.size();
}

}  // namespace snapvol::fs
