// View: what a mount shows — an immutable base snapshot with the mount's
// private, node-local changes on top (S1, S2) — as inode operations
// that know nothing of FUSE. fuse_ops.cc translates requests into these
// calls and the returned Status into errnos (posix_error.h); unit tests
// drive the same calls without a kernel.
//
// The View coordinates; each concept lives in the file named after it:
//   node.h, inode_table.h   nodes, their names, the lookup-count rules
//   change_tracker.h        which changes are pending (bindings, dirty nodes)
//   base_tree.h             resolving names and entries in the base snapshot
//   write_layer.h           upper files: new ones and copy-up
//   access.h                the POSIX permission rules
//   xattr_list.h            an entry's xattrs
//   inode_budget.h          the volume's inode limit
//   journal_writer.h        the journal records of every change (S9)
//   directory_reader.h      readdir: the base listing merged with local names
//   committer.h             a commit from plan to finish (S3, S5, S6)
//   rebaser.h               reload: moving onto a newer snapshot (S4)
// Model (docs/mount.md "The view"): nodes in an InodeTable; each directory
// keeps the names the mount knows in `children` (live base nodes, local
// nodes, whiteouts) above its base tree, read lazily through the TreeCache.
// Unchanged base content is never copied: reads go to chunks through the
// ChunkCache; the first write-open copies a file up into an UpperFile.
//
// Pending changes (not yet committed) are tracked per name binding
// (Child::pending) and per node (Node::dirty) by the ChangeTracker. Every change is appended to the
// Journal before the call returns (S9).
//
// Thread-safety: all methods are thread-safe. One mutex (mu_) guards the
// inode table, every node and the counters; it is released around store
// reads (tree pages, file indexes), copy-up and data I/O. Lock order:
// MountServer::control_mu_ before mu_ before TreeCache/ChunkCache/Journal
// internal locks; nothing calls back into the View while holding those.
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
#include "driver/fs/base_tree.h"
#include "driver/fs/change_tracker.h"
#include "driver/fs/chunk_cache.h"
#include "driver/fs/file_layout.h"
#include "driver/fs/inode_budget.h"
#include "driver/fs/inode_table.h"
#include "driver/fs/journal.h"
#include "driver/fs/journal_writer.h"
#include "driver/fs/node.h"
#include "driver/fs/tree_cache.h"
#include "driver/fs/write_layer.h"
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
  // The upper files' I/O (tests inject faults); must outlive the view.
  core::Env* env = core::Env::Default();
};

struct EntryOut {
  Ino ino = 0;
  NodeType type = NodeType::kFile;
  Attr attr;
  uint32_t nlink = 1;
  double entry_timeout = 0;
  double attr_timeout = 0;
};

// An open file or directory. Owned by the View between Open/OpenDir and
// Release/ReleaseDir.
struct Handle {
  Node* node = nullptr;
  bool writable = false;
  std::shared_ptr<UpperFile> upper;  // the upper file a writable handle counts in
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

  // A write enters the view twice: BeginWrite, then the caller writes the
  // bytes through ticket.use() (the upper file's descriptor, inside its
  // write bracket, UpperFile::WriteScope), then EndWrite records the new
  // size and time and journals the change. A ticket dropped without
  // EndWrite (the write failed) ends the bracket and records nothing.
  // `direct`: the handle bypasses the kernel's page cache
  // (FOPEN_DIRECT_IO). The kernel clears set-id bits before a cached write
  // (file_remove_privs), not before a direct one, so BeginWrite does it for
  // those (set-uid, set-gid too if group-executable; root keeps them, as
  // CAP_FSETID does) and reports whether other handles may hold cached
  // pages of the file.
  class WriteTicket {
   public:
    WriteTicket(WriteTicket&&) = default;
    WriteTicket& operator=(WriteTicket&&) = default;
    const UpperFile::Use& use() const { return *use_; }
    // The write cleared set-id bits: the kernel's cached attributes are
    // stale.
    bool mode_changed() const { return mode_changed_; }
    // A direct write to a file open elsewhere: cached pages of the written
    // range are stale.
    bool open_elsewhere() const { return open_elsewhere_; }

   private:
    friend class View;
    WriteTicket() = default;
    Handle* handle_ = nullptr;
    bool mode_changed_ = false;
    bool open_elsewhere_ = false;
    std::shared_ptr<UpperFile> upper_;
    std::optional<UpperFile::Use> use_;
    std::unique_ptr<UpperFile::WriteScope> scope_;  // destroyed first
  };
  Result<WriteTicket> BeginWrite(Handle* h, const Cred& cred, bool direct);
  // `written` bytes at `off` went into the upper file.
  Status EndWrite(WriteTicket ticket, uint64_t off, size_t written);
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

  // --- Reload (called by the MountServer, serialized with commits). ---
  // Moves the view onto `snap` (a newer snapshot of the same volume);
  // Rebaser does the work.
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
  // Helpers that work on the view's state under mu_.
  friend class Committer;
  friend class DirectoryReader;
  friend class Rebaser;
  using Lock = std::unique_lock<std::mutex>;

  // Helpers below require mu_ held (Lock& when they may release it).
  Node* Get(Ino ino) const { return table_.Get(ino); }
  Result<Node*> GetDir(Ino ino) const;
  EntryOut Out(const Node* n) const;
  Result<EntryOut> SetAttrLocked(Lock& lock, Node* n, const SetAttrIn& in, const Cred& cred);

  Status CheckWritable() const;
  // `name` may be created in `dir` by `cred`; *existing is what it names
  // now (then only search permission was needed).
  Status CheckCreate(Lock& lock, Node* dir, const std::string& name, const Cred& cred,
                     Node** existing);
  // `name` in `dir` may be removed or renamed by `cred`: resolves it into
  // *n (ENOENT if absent) and checks write permission and the sticky rule.
  Status CheckRemove(Lock& lock, Node* dir, const std::string& name, const Cred& cred, Node** n);
  Node* NewLocal(NodeType type, const Attr& attr);
  Attr NewAttr(Node* dir, uint32_t mode, const Cred& cred, bool is_dir) const;
  // Binds a node created here at (dir, name).
  void Created(Node* dir, const std::string& name, Node* n);
  // The reply of an entry the kernel now holds (+1 lookup).
  EntryOut Referenced(Node* n);
  Handle* NewHandle(Node* n, bool writable);
  // A directory removed (rmdir, replaced by a rename) shows nothing below.
  void EmptyRemovedDir(Node* d);
  void Touch(Node* dir);

  const ViewOptions options_;
  store::ObjectStore* const objects_;
  TreeCache* const trees_;
  ChunkCache* const chunks_;
  Journal* const journal_;

  mutable std::mutex mu_;  // guards everything below and every Node
  volume::Snapshot base_;
  InodeTable table_;
  BaseTree base_tree_{&table_, trees_, objects_};
  WriteLayer upper_files_{options_.data_dir, objects_, chunks_, &table_, &base_tree_, options_.env};
  JournalWriter records_{journal_};
  ChangeTracker changes_{&table_};
  std::unordered_map<Handle*, std::unique_ptr<Handle>> handles_;
  InodeBudget inodes_{options_.inode_limit};
};

}  // namespace snapvol::fs
