// View: what a mount shows — an immutable base snapshot with the mount's
// private, node-local changes on top (S1, S2) — as inode operations
// that know nothing of FUSE. fuse_ops.cc translates requests into these
// calls and the returned Status into errnos (posix_error.h); unit tests
// drive the same calls without a kernel.
//
// Model (docs/mount.md "The view"): nodes (node.h) in an InodeTable; each
// directory keeps the names the mount knows in `children` (live base nodes,
// local nodes, whiteouts) above its base tree, read lazily through the
// TreeCache. Unchanged base content is never copied: reads go to chunks
// through the ChunkCache; the first write-open copies a file up into an
// UpperFile.
//
// Pending changes (not yet committed) are tracked per name binding
// (Child::pending) and per node (Node::dirty). PlanCommit() turns them into a
// ChangeSet plan: the *state* of every changed path, applied by the engine on
// top of the head as it is when the commit lands (S6). FinishCommit() clears
// what landed. Rebase() moves the view onto a newer snapshot (reload, S4):
// unchanged nodes keep their inode numbers, changed names get new nodes (and
// the caller invalidates the kernel's entries), open handles keep their
// content, pending changes stay on top.
//
// Every change is appended to the Journal before the call returns (S9).
//
// Thread-safety: all methods are thread-safe. One mutex (mu_) guards the
// inode table, every node and the counters; it is released around store
// reads (tree pages, file indexes), copy-up and data I/O. Lock order:
// mu_ before TreeCache/ChunkCache/Journal internal locks; nothing calls back
// into the View while holding those.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "driver/core/result.h"
#include "driver/fs/access.h"
#include "driver/fs/chunk_cache.h"
#include "driver/fs/file_layout.h"
#include "driver/fs/inode_table.h"
#include "driver/fs/journal.h"
#include "driver/fs/node.h"
#include "driver/fs/tree_cache.h"
#include "driver/volume/change_set.h"
#include "driver/volume/engine.h"

namespace snapvol::fs {

struct ViewOptions {
  bool read_only = false;
  uint64_t inode_limit = store::kDefaultInodeLimit;
  // Kernel cache lifetimes. Everything that changes either changes through
  // this mount (the kernel sees it) or through Rebase (which invalidates
  // explicitly), so entries and attributes may be cached for long. Names
  // directly under the root get a short entry timeout: a reload triggered by
  // setxattr on the root cannot invalidate them synchronously (the caller
  // holds the root's inode lock), see docs/mount.md.
  double entry_timeout = 86400.0;
  double attr_timeout = 86400.0;
  double root_entry_timeout = 1.0;
  // Where upper files live (MountDirLayout::DataDir). Unused if read_only.
  std::string data_dir;
  // Attempts to read a changing upper file consistently during a commit.
  int snapshot_attempts = 4;
};

struct EntryOut {
  Ino ino = 0;
  NodeType type = NodeType::kFile;
  Attr attr;
  uint32_t nlink = 1;
  double entry_timeout = 0;
  double attr_timeout = 0;
};

struct SetAttrIn {
  std::optional<uint32_t> mode;  // permission bits (07777)
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size;
  std::optional<int64_t> atime_ns;
  std::optional<int64_t> mtime_ns;
  bool atime_now = false;
  bool mtime_now = false;
  bool via_handle = false;  // ftruncate/futimens on an open descriptor
};

// An open file or directory. Owned by the View between Open/OpenDir and
// Release/ReleaseDir.
struct Handle {
  Node* node = nullptr;
  bool writable = false;
  // Opened with FOPEN_DIRECT_IO (set by fuse_ops): its writes bypass the
  // kernel's page cache, so other handles' cached pages must be dropped.
  bool direct = false;
  std::shared_ptr<UpperFile> upper;  // the upper file a writable handle counts in
  // How the kernel does this handle's I/O (set by fuse_ops, which mirrors
  // the kernel's per-inode rules for passthrough, docs/mount.md).
  enum class KernelIo : uint8_t { kUntracked, kCached, kPassthrough };
  KernelIo kernel_io = KernelIo::kUntracked;
  // A read-only handle of committed content: its layout (a file cache copy
  // is made from it).
  std::shared_ptr<const FileLayout> layout;
  bool dir = false;
  // Directory cursor: the base tree listed (fixed at open), the next offset
  // to return and the last name returned.
  std::optional<core::Hash> tree;
  uint64_t next_off = 0;
  std::string last;
  bool base_done = false;
};

struct OpenOut {
  Handle* handle = nullptr;
  bool keep_cache = true;
};

struct DirEntryOut {
  std::string name;
  NodeType type = NodeType::kFile;
  Ino ino = 0;  // pseudo inode for names the mount has no node for
  uint64_t next_off = 0;
  std::optional<EntryOut> plus;  // readdirplus: a referenced entry
};

struct StatFsOut {
  uint64_t block_size = 4096;
  uint64_t blocks = 0, blocks_free = 0, blocks_avail = 0;
  uint64_t files = 0, files_free = 0;
  uint32_t name_max = 255;
};

// Kernel cache entries a Rebase made stale.
struct Invalidations {
  std::vector<std::pair<Ino, std::string>> entries;  // (parent, name)
  std::vector<Ino> inodes;                           // attributes and data/listing
  // (parent, name) unchanged but to be looked up again (search permission
  // of the parent changed, View::NamesToRecheck): expired, not dropped.
  std::vector<std::pair<Ino, std::string>> expire;
};

// A commit prepared by PlanCommit.
struct CommitPlan {
  struct Op {
    volume::ChangeOp op;
    // For a Put of a file whose content is an upper file: filled in by the
    // committer from `upper` (Snapshot) before the change set is built.
    std::shared_ptr<UpperFile> upper;
    Ino node = 0;  // the node whose state this op publishes (0 = none)
  };
  std::vector<Op> ops;
  // Bindings and nodes to mark committed if the commit lands and they did
  // not change meanwhile.
  struct ChildMark {
    Ino dir;
    std::string name;
    uint64_t seq;
    Ino node;
  };
  struct NodeMark {
    Ino node;
    uint64_t seq;
  };
  std::vector<ChildMark> children;
  std::vector<NodeMark> nodes;
  uint64_t closed_gen = 0;  // journal generations <= this are covered
  bool final = false;
};

class View {
 public:
  // `objects`, `trees`, `chunks` and `journal` must outlive the view;
  // `journal` may be null (read-only mounts).
  View(ViewOptions options, store::ObjectStore* objects, TreeCache* trees, ChunkCache* chunks,
       Journal* journal);
  ~View();
  View(const View&) = delete;
  View& operator=(const View&) = delete;

  // Sets the base snapshot and creates the root. Call once, first.
  Status Attach(const volume::Snapshot& base);

  // --- Inode operations. `parent`/`ino` must be known (looked up). ---
  Result<EntryOut> Lookup(Ino parent, const std::string& name, const Cred& cred);
  void Forget(Ino ino, uint64_t n);
  Result<EntryOut> GetAttr(Ino ino);
  Result<EntryOut> SetAttr(Ino ino, const SetAttrIn& in, const Cred& cred);
  Result<std::string> ReadLink(Ino ino);
  // `mode` carries the type bits (S_IFREG, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK).
  Result<EntryOut> Mknod(Ino parent, const std::string& name, uint32_t mode, uint64_t rdev,
                         const Cred& cred);
  Result<EntryOut> Mkdir(Ino parent, const std::string& name, uint32_t mode, const Cred& cred);
  Result<EntryOut> Symlink(Ino parent, const std::string& name, const std::string& target,
                           const Cred& cred);
  Result<EntryOut> Link(Ino ino, Ino new_parent, const std::string& new_name, const Cred& cred);
  Status Unlink(Ino parent, const std::string& name, const Cred& cred);
  Status Rmdir(Ino parent, const std::string& name, const Cred& cred);
  // flags: RENAME_NOREPLACE; RENAME_EXCHANGE is refused with EINVAL.
  Status Rename(Ino parent, const std::string& name, Ino new_parent, const std::string& new_name,
                unsigned flags, const Cred& cred);
  Status Access(Ino ino, int mask, const Cred& cred);
  // The names in directory `ino` the kernel may have cached, if some users
  // may not search it (else none): after a mode or owner change the caller
  // invalidates them, so that the next walk through the directory is looked
  // up with the walker's credentials and its search permission checked.
  std::vector<std::string> NamesToRecheck(Ino ino) const;
  Result<StatFsOut> StatFs();

  // --- Files. ---
  Result<OpenOut> Open(Ino ino, int flags, const Cred& cred);
  // Creates and opens (flags as open(2)); the entry is referenced.
  Result<std::pair<EntryOut, OpenOut>> Create(Ino parent, const std::string& name, uint32_t mode,
                                              int flags, const Cred& cred);
  // Where the bytes of [off, off+size) are. Segments keep what they point
  // into alive.
  Status Read(Handle* h, uint64_t off, size_t size, std::vector<Segment>* out);
  // Runs `io` (which writes the data to the given descriptor at `off` and
  // returns the bytes written) under the upper file's write bracket, then
  // records the new size and time.
  // What a write by `cred` through a handle that bypasses the kernel's
  // page cache (Handle::direct) needs besides the bytes, in one look:
  // `mode` is the mode the write leaves if it changes (set-uid cleared,
  // set-gid too if group-executable; root keeps them, as CAP_FSETID does;
  // the kernel does this itself for cached writes only), and
  // `open_elsewhere` whether other handles may hold cached pages.
  struct DirectWrite {
    std::optional<uint32_t> mode;
    bool open_elsewhere = false;
  };
  DirectWrite BeforeDirectWrite(const Handle* h, const Cred& cred) const;
  Result<size_t> Write(Handle* h, uint64_t off,
                       const std::function<Result<size_t>(const UpperFile::Use&)>& io);
  // fsync(2) of a file: its upper file and the journal become durable.
  Status Fsync(Handle* h, bool datasync);
  void Release(Handle* h);

  // --- Directories. ---
  Result<Handle*> OpenDir(Ino ino, const Cred& cred);
  // Emits entries from offset `off` (0 = start; "." and ".." come first)
  // while `add` accepts them. With `plus`, each entry but "." and ".." is
  // referenced, and the reference is dropped again if `add` refuses it.
  Status ReadDir(Handle* h, uint64_t off, bool plus,
                 const std::function<bool(const DirEntryOut&)>& add);
  void ReleaseDir(Handle* h);
  // fsync of a directory other than the root: the journal becomes durable.
  Status SyncJournal();

  // --- Extended attributes (names are full, e.g. "user.x"). ---
  Status SetXattr(Ino ino, const std::string& name, const std::string& value, int flags,
                  const Cred& cred);
  Result<std::string> GetXattr(Ino ino, const std::string& name, const Cred& cred);
  Result<std::vector<std::string>> ListXattr(Ino ino, const Cred& cred);
  Status RemoveXattr(Ino ino, const std::string& name, const Cred& cred);

  // --- Commit and reload (called by the MountServer, serialized there). ---
  // Rotates the journal and collects every pending change. `final` commits
  // files that are open for writing too.
  Result<CommitPlan> PlanCommit(bool final);
  // After the commit: if `landed`, marks the plan's items committed unless
  // they changed meanwhile (except `deferred` nodes, which stay pending and
  // are re-journaled), then deletes the journal generations the plan covered.
  Status FinishCommit(const CommitPlan& plan, bool landed, const std::set<Ino>& deferred);
  // Moves the view onto `snap` (a newer snapshot of the same volume).
  Result<Invalidations> Rebase(const volume::Snapshot& snap);

  // Observability.
  uint64_t base_version() const;
  // Pending changes (names and nodes not yet committed).
  uint64_t PendingCount() const;
  bool HasPending() const;
  uint64_t inodes() const;
  size_t node_count() const;
  bool read_only() const { return options_.read_only; }

 private:
  using Lock = std::unique_lock<std::mutex>;
  struct Pin;

  // Helpers below require mu_ held (Lock& when they may release it).
  Node* Get(Ino ino) const;
  Result<Node*> GetDir(Ino ino) const;
  EntryOut Out(const Node* n) const;
  Attr AttrOf(const objects::Entry& e) const;
  std::unique_ptr<Node> NodeFromEntry(const objects::Entry& e) const;
  // The child bound to `name` in `dir`: a node, or nullptr if absent (or a
  // whiteout). May release the lock to read the base tree.
  Result<Node*> Resolve(Lock& lock, Node* dir, const std::string& name);
  Node* BindBaseEntry(Node* dir, const std::string& name, const objects::Entry& e);
  // Loads the node's base entry into node->entry. May release the lock.
  Status EnsureEntry(Lock& lock, Node* n);
  // Gives a file an upper file: empty if `empty`, else a copy of the first
  // `limit` bytes of its base content. May release the lock.
  Status EnsureUpper(Lock& lock, Node* n, bool empty, uint64_t limit);
  Result<std::shared_ptr<const FileLayout>> EnsureLayout(Lock& lock, Node* n);

  Status CheckName(const std::string& name) const;
  Status CheckWritable() const;
  // ESTALE for a node a reload detached (Node::stale).
  Status CheckLive(const Node* n) const;
  // `n` still has a name: ESTALE if a reload detached it, ENOENT if it was
  // removed (`what` names it in the message).
  Status CheckReachable(const Node* n, std::string_view what) const;
  Status CheckAccess(const Node* n, const Cred& cred, int mask) const;
  Status CheckCreate(Lock& lock, Node* dir, const std::string& name, const Cred& cred,
                     Node** existing);
  Status CheckInodeRoom(uint64_t n) const;
  Node* NewLocal(NodeType type, const Attr& attr);
  Attr NewAttr(Node* dir, uint32_t mode, const Cred& cred, bool is_dir) const;
  void Bind(Node* dir, const std::string& name, Node* n);
  void RemoveName(Node* dir, const std::string& name, Node* n);
  void Detach(Node* n);
  void MarkKept(Node* n);
  void MarkDirty(Node* n);
  void NotePendingDir(Node* dir);
  void Touch(Node* dir);
  void MaybeDrop(Node* n);
  uint64_t NextSeq() { return ++seq_; }

  volume::Path PathOf(const Node* dir) const;
  volume::Path ChildPath(const Node* dir, const std::string& name) const;
  bool Attached(const Node* n) const;
  objects::Entry EntryFor(const Node* n) const;

  // Journal appends (no-ops without a journal).
  Status JournalPut(const Node* n);  // every name of n
  Status JournalPutAt(const volume::Path& path, const Node* n);
  Status JournalRecord(mount::JournalRecord rec);

  // Commit planning.
  void EmitDir(Node* dir, const volume::Path& path, bool force, CommitPlan* plan,
               std::set<Ino>* emitted);
  void EmitNode(Node* dir, const std::string& name, const Child& child, const volume::Path& path,
                bool force, CommitPlan* plan, std::set<Ino>* emitted);
  void AddPut(const volume::Path& path, const Node* n, CommitPlan* plan);

  // Reload.
  Status RebaseDir(Node* d, const objects::Entry* entry, Invalidations* inv);
  bool PendingBelow(const Node* d) const;
  Status PruneToPending(Node* d, Invalidations* inv);
  void DetachName(Node* dir, const std::string& name, Invalidations* inv);
  uint64_t CountPendingDelta(const Node* d) const;

  const ViewOptions options_;
  store::ObjectStore* const objects_;
  TreeCache* const trees_;
  ChunkCache* const chunks_;
  Journal* const journal_;

  mutable std::mutex mu_;  // guards everything below and every Node
  volume::Snapshot base_;
  InodeTable table_;
  std::unordered_map<uint64_t, Node*> links_;  // link_id -> live node
  std::set<Ino> pending_dirs_;  // directories with pending children (and the root if dirty)
  std::unordered_map<Handle*, std::unique_ptr<Handle>> handles_;
  uint64_t seq_ = 0;
  uint64_t next_upper_ = 1;
  int64_t inode_delta_ = 0;  // local creates minus deletes since the base
};

}  // namespace snapvol::fs
