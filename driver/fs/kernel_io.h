// KernelIo: how the kernel does the I/O of each open handle of an inode,
// decided per open and undone per release: through the page cache
// (kCached), passed through to a backing file, the host's copy of the
// file's committed bytes (kPassthrough, FileCache), or not counted at all
// (kUntracked: FOPEN_DIRECT_IO handles, or before the kernel accepted
// passthrough). docs/mount.md "Passthrough reads".
//
// A pure state machine: no FUSE include and no system call. HandleIo
// (handle_io.h) and the FUSE callbacks (fuse_ops.cc) feed it events and
// carry out its decisions; opening the host copy and registering it with
// /dev/fuse happen between BeginOpen and FinishOpen, outside this class's
// lock, so a slow copy open holds up no other open's decision.
//
// The rules, mirroring the kernel's (fs/fuse/iomode.c), which fails with
// EIO any open that would mix modes on one inode:
//   - Until Accept() (INIT accepted passthrough) nothing is counted: every
//     open is kUntracked and every change is allowed.
//   - An inode's counted handles are all cached, or all pass through to one
//     backing id. While it passes through: a writer is refused (ETXTBSY,
//     see BeginChange); a reader joins the same backing id, as a direct
//     handle when its content is not the backing file's (FOPEN_DIRECT_IO
//     overrides passthrough in the kernel).
//   - A direct-io open of an inode that does not pass through is kUntracked.
//   - A new backing file is tried (kOpenBacking) only while enabled(), for
//     an open with committed content (a key), on an inode with no cached
//     handle, no change under way and no change since the open began;
//     otherwise the open is cached. A backing open that fails (no copy,
//     registration refused) makes the open cached.
//   - The release of an inode's last passed-through handle closes its
//     backing id.
//   - A change (a writable open until its release, a truncate until it is
//     done) is refused while the inode passes through, and otherwise keeps
//     new opens of it cached.
//
// Thread-safe; mu_ is a leaf lock (nothing is called while it is held).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

#include "driver/core/hash.h"
#include "driver/fs/node.h"

namespace snapvol::fs {

class KernelIo {
 public:
  enum class Mode : uint8_t { kUntracked, kCached, kPassthrough };

  // What an open asks for.
  struct Open {
    bool writable = false;  // the handle may write
    bool direct = false;    // opened with FOPEN_DIRECT_IO
    // FileLayout::content_key() of the committed bytes the handle reads;
    // none for written (upper) or new files.
    std::optional<core::Hash> key;
  };

  enum class Action : uint8_t {
    kRefuse,       // reply ETXTBSY
    kUntracked,    // reply as asked; Release is not called
    kCached,       // the page cache
    kPassthrough,  // reply with backing_id (and FOPEN_DIRECT_IO if `direct`)
    kOpenBacking,  // register the host copy of the key, then FinishOpen
  };
  struct Decision {
    Action action = Action::kUntracked;
    int32_t backing_id = 0;  // kPassthrough
    // kPassthrough: the handle's content is not the backing file's, so its
    // reads go through the mount (the handle must be direct).
    bool direct = false;
    // FinishOpen: the id the caller registered but that is not used; the
    // caller closes it.
    int32_t close_backing = 0;
    // FinishOpen: the caller's backing id is now the inode's (first use).
    bool new_backing = false;
    uint64_t ticket = 0;  // kOpenBacking: hand back to FinishOpen

    Mode mode() const;
  };

  // The kernel accepted passthrough at INIT: count every open from now on
  // and allow new backing files. Idempotent.
  void Accept();
  // No new backing files from now on (a registration failure that will not
  // pass, e.g. no CAP_SYS_ADMIN). Inodes passing through keep their counts.
  void Disable();
  // Accepted at INIT (opens are counted).
  bool accepted() const;
  // Accepted and not disabled: new backing files may be tried.
  bool enabled() const;
  // A backing file has been registered and used since Accept(), and
  // passthrough was not disabled since: the status's "passthrough".
  bool in_use() const;

  // An open of `ino`. kOpenBacking must be followed by FinishOpen.
  Decision BeginOpen(Ino ino, const Open& open);
  // After kOpenBacking: `backing_id` is the id the caller registered for the
  // host copy of open.key, or 0 if there was none or it failed. Re-checks
  // the inode (another open or a change may have come meanwhile). Never
  // kOpenBacking.
  Decision FinishOpen(Ino ino, const Open& open, uint64_t ticket, int32_t backing_id);
  // A handle opened as `mode` was released, or its open reply failed. The
  // backing id to close (the inode's last passed-through handle), or 0.
  int32_t Release(Ino ino, Mode mode);

  // A change of the bytes of `ino` begins: false while it passes through
  // (the caller refuses with ETXTBSY); otherwise held until EndChange.
  bool BeginChange(Ino ino);
  void EndChange(Ino ino);

  // Whether the release of a cached handle that read most of a large file
  // should ask the file cache for a copy of `key`: true once per key, then
  // false until CopyMissing(key), so releases do not ask (and the cache
  // does not look on disk) again and again while a copy is being made or
  // exists. At most kFillMemo keys are remembered.
  static constexpr size_t kFillMemo = 4096;
  bool ShouldFill(const core::Hash& key);
  // An open looked for the copy of `key` and found none (never made,
  // evicted, or still being made): the next release may ask again.
  void CopyMissing(const core::Hash& key);

  // Inodes with counted handles, changes or backing opens (tests).
  size_t tracked_inodes() const;

 private:
  struct InodeIo {
    uint32_t cached = 0;
    uint32_t passthrough = 0;
    uint32_t changing = 0;  // writable handles and truncates
    uint32_t opening = 0;   // between kOpenBacking and FinishOpen
    uint64_t changes = 0;   // BeginChange calls while opening > 0
    int32_t backing_id = 0;
    core::Hash key;  // of the backing file
  };
  Decision Join(InodeIo& io, const Open& open);
  void EraseIfIdle(Ino ino);

  mutable std::mutex mu_;
  bool accepted_ = false;                    // guarded by mu_
  bool enabled_ = false;                     // guarded by mu_
  bool in_use_ = false;                      // guarded by mu_
  std::unordered_map<Ino, InodeIo> inodes_;  // guarded by mu_
  std::set<core::Hash> asked_;               // guarded by mu_
};

}  // namespace snapvol::fs
