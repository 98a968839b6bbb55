// Node: one inode of the mount (file, directory, symlink, special file).
//
// A node either mirrors an entry of the mount's base snapshot ("at origin":
// its attributes come from that entry and nothing about it is stored
// locally) or holds local state: changed attributes, content in an upper
// file, a new binding (created, renamed or linked here), or, for a
// directory, local children. Directories keep the names the mount knows
// about in `children`: live nodes looked up from the base, local nodes, and
// whiteouts (names deleted locally). A lookup checks `children` first, then
// the directory's base tree.
//
// All fields are guarded by View::mu_; nodes are owned by the InodeTable.
// The free functions below are the node's pure helpers (paths, the entry it
// publishes, its names); they need the same lock as the fields they read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "driver/core/hash.h"
#include "driver/fs/file_layout.h"
#include "driver/fs/upper_file.h"
#include "driver/volume/change_set.h"
#include "snapvol_objects.pb.h"

namespace snapvol::fs {

using Ino = uint64_t;
inline constexpr Ino kRootIno = 1;

enum class NodeType : uint8_t { kFile, kDir, kSymlink, kFifo, kSocket, kCharDevice, kBlockDevice };

NodeType NodeTypeOf(objects::EntryType t);
objects::EntryType EntryTypeOf(NodeType t);
// The type of mknod(2)'s `mode` (S_IFREG or 0, S_IFIFO, S_IFSOCK, S_IFCHR,
// S_IFBLK); nullopt for anything else.
std::optional<NodeType> NodeTypeOfMode(uint32_t mode);

struct Attr {
  uint32_t mode = 0;  // permission bits incl. setuid/setgid/sticky (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  int64_t atime_ns = 0;
  uint64_t rdev = 0;
};

struct Node;

// Further names of a hard-linked node. Almost no node has any, and a mount
// holds a node for every inode the kernel caches (a `find` over 1M files
// means 1M nodes), so the vector is allocated only once a name is added and
// freed when the last one goes: the common node pays one pointer, not 24
// bytes. The subset of std::vector's interface the View uses.
class MoreNames {
 public:
  using value_type = std::pair<Node*, std::string>;
  using Vector = std::vector<value_type>;
  using iterator = Vector::iterator;
  using const_iterator = Vector::const_iterator;

  bool empty() const { return v_ == nullptr; }
  size_t size() const { return v_ == nullptr ? 0 : v_->size(); }
  value_type& back() { return v_->back(); }
  template <typename... Args>
  value_type& emplace_back(Args&&... args) {
    if (v_ == nullptr) v_ = std::make_unique<Vector>();
    return v_->emplace_back(std::forward<Args>(args)...);
  }
  void pop_back() {
    v_->pop_back();
    if (v_->empty()) v_.reset();
  }
  iterator erase(iterator first, iterator last) {
    if (v_ == nullptr) return last;
    iterator next = v_->erase(first, last);
    if (!v_->empty()) return next;
    v_.reset();
    return iterator();
  }
  // Value-initialized iterators compare equal: an empty range.
  iterator begin() { return v_ == nullptr ? iterator() : v_->begin(); }
  iterator end() { return v_ == nullptr ? iterator() : v_->end(); }
  const_iterator begin() const { return v_ == nullptr ? const_iterator() : v_->cbegin(); }
  const_iterator end() const { return v_ == nullptr ? const_iterator() : v_->cend(); }

 private:
  std::unique_ptr<Vector> v_;  // null when empty, never empty when set
};

// One name in a directory.
//
// `replaced` says whether the volume's head may hold something at this name
// as far as this mount knows: then removing the name must publish a delete
// (a whiteout stays), else the name can simply be forgotten. `in_commit`
// says that a commit now running publishes an entry at this name: it may
// land at any moment, so until it finished the name counts as replaced
// (docs/mount.md "Which changes a commit takes").
struct Child {
  Node* node = nullptr;    // nullptr: a whiteout (deleted here)
  bool pending = false;    // the name's binding changed since the last commit
  bool replaced = false;   // the head may hold something else at this name
  bool in_commit = false;  // the running commit publishes an entry here
  uint64_t seq = 0;        // View change sequence of the last binding change
};

struct DirState {
  // The base tree below this directory; nullopt for a directory created
  // here (nothing below it in any snapshot).
  std::optional<core::Hash> tree;
  // Totals of `tree`, for re-publishing a moved directory as one reference.
  uint64_t subtree_inodes = 0;
  uint64_t subtree_bytes = 0;
  // Bumped whenever `tree` changes (reload), so a lookup that fetched from
  // the old tree without the lock notices.
  uint64_t tree_gen = 0;
  std::map<std::string, Child> children;
};

// Fields are ordered to leave no padding: sizeof(Node) is what a mount pays
// per inode the kernel holds (tests/fs/inode_table_test.cc checks the bound).
struct Node {
  Ino ino = 0;
  Attr attr;
  uint64_t link_id = 0;
  // Fingerprint of the base entry mirrored (at origin), to tell on reload
  // whether the new snapshot changed it.
  uint64_t fp = 0;

  // The directory holding the node's first name, and that name; null for
  // the root and for nodes no longer reachable (unlinked or replaced by a
  // reload, still open or known to the kernel).
  Node* parent = nullptr;
  std::string name;
  // Further names of a hard-linked node.
  MoreNames more_names;

  uint64_t nlookup = 0;  // kernel references (lookup-count rules, inode_table.h)
  uint32_t opens = 0;    // open file and directory handles
  uint32_t writers = 0;  // open handles that may write
  uint16_t pins = 0;     // View calls using the node while mu_ is released (<= threads)

  NodeType type = NodeType::kFile;
  bool at_origin : 1 = true;     // mirrors the base entry at (parent, name)
  bool dirty : 1 = false;        // attributes/content/xattrs changed since the last commit
  bool kept : 1 = false;         // holds local state itself or below: never dropped before reload
  bool base_xattrs : 1 = false;  // the mirrored base entry has xattrs (fetched on demand)
  bool xattrs_changed : 1 = false;  // set or removed an xattr since the last commit (dirs)
  // Lost its last name to a reload, not to an unlink: the kernel may still
  // hold a name for it that the reload's invalidation has not reached yet,
  // so operations through it are ESTALE (the kernel looks the path up
  // again and retries), never ENOENT.
  bool stale : 1 = false;
  uint64_t seq = 0;            // View change sequence of the last attribute/content change
  uint64_t journaled_gen = 0;  // journal generation that already has a PUT of its content

  // Local copy of the entry (content, symlink target, xattrs, directory
  // tree totals) once the node holds local state or is detached; null for a
  // clean base node, whose entry is read from its parent's tree on demand.
  std::unique_ptr<objects::Entry> entry;
  std::shared_ptr<UpperFile> upper;          // FILE: content lives here
  std::shared_ptr<const FileLayout> layout;  // FILE: base content, while open
  std::unique_ptr<DirState> dir;             // DIRECTORY

  bool is_dir() const { return type == NodeType::kDir; }
  size_t names() const { return (parent != nullptr ? 1 : 0) + more_names.size(); }
};

// Attributes of a base entry as the mount reports them (atime and ctime
// are not stored: both are the mtime).
Attr AttrOf(const objects::Entry& e);
// Fingerprint of a base entry, to tell on reload whether it changed.
uint64_t Fingerprint(const objects::Entry& e);
// Wall-clock time in nanoseconds (mtime/ctime of changes).
int64_t NowNs();

// The volume path of directory `dir` (empty for the root), following first
// names; and of `name` in it.
volume::Path PathOf(const Node* dir);
volume::Path ChildPath(const Node* dir, const std::string& name);
// Whether the node's first names lead up to the root.
bool Attached(const Node* n);
// The entry the node publishes: its local entry (content, target, xattrs)
// with the node's attributes, a directory's tree and totals.
objects::Entry EntryOf(const Node* n);

// ESTALE for a node a reload detached (Node::stale) that has no name.
core::Status CheckLive(const Node* n);
// `n` still has a name (or is the root): ESTALE if a reload detached it,
// ENOENT if it was removed (`what` names it in the message).
core::Status CheckReachable(const Node* n, std::string_view what);

// Adds (dir, name) to the node's names: the first name if it has none.
void AddName(Node* n, Node* dir, const std::string& name);
// Removes (dir, name) from the node's names; the last further name becomes
// the first when the first goes. Does not touch dir's children.
void RemoveNameOf(Node* n, const Node* dir, const std::string& name);
// Removes every name the node has in `dir` (the directory is going away).
void RemoveNamesIn(Node* n, const Node* dir);

}  // namespace snapvol::fs
