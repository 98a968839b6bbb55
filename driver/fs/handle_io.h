// HandleIo: carries KernelIo's decisions (kernel_io.h) out for the open
// handles of one mount. On an open it asks KernelIo, and when told to,
// opens the host's copy of the file (FileCache) and registers it with
// /dev/fuse (BackingFiles) — with no lock held, so a slow copy open holds
// up no other open — then records the mode on the OpenFile and says what the
// reply must carry. On a release it undoes that and, when the handles of a
// large committed file have read most of it through the mount, asks the
// file cache for a copy (once per content, KernelIo::ShouldFill), so the
// next opens pass through. A registration error that will recur turns
// passthrough off for the mount.
//
// FUSE-free: fuse_ops.cc applies the Reply to its fuse_file_info.
// Thread-safe (KernelIo's lock is a leaf; FileCache and BackingFiles are
// thread-safe).
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

#include "driver/fs/file_cache.h"
#include "driver/fs/fuse_passthrough.h"
#include "driver/fs/kernel_io.h"
#include "driver/fs/view.h"

namespace snapvol::fs {

// An open file as the FUSE layer keeps it (fuse_file_info::fh): the View's
// handle, and how the kernel does its I/O, which the View never needs.
struct OpenFile {
  Handle* handle = nullptr;  // the View's, released with this
  // Opened with FOPEN_DIRECT_IO: its writes bypass the kernel's page cache,
  // so other handles' cached pages must be dropped.
  bool direct = false;
  KernelIo::Mode mode = KernelIo::Mode::kUntracked;
};

class HandleIo {
 public:
  // What the mount counts (MountServer::NotePassthrough, ...PassthroughOpen).
  struct Notes {
    std::function<void(bool in_use)> passthrough = [](bool) {};
    std::function<void()> passthrough_open = [] {};
  };

  // `io`, `files` and `backing` must outlive this.
  HandleIo(KernelIo* io, FileCache* files, BackingFiles* backing, Notes notes)
      : io_(io), files_(files), backing_(backing), notes_(std::move(notes)) {}

  // What the open reply must say.
  struct Reply {
    bool refuse = false;     // reply ETXTBSY (a writer of a file passing through)
    int32_t backing_id = 0;  // > 0: FOPEN_PASSTHROUGH with this id
    bool direct_io = false;  // set FOPEN_DIRECT_IO
    bool no_keep_cache = false;
  };
  // Open file `f` of `ino` is being opened; `direct_io`: the reply asks
  // for FOPEN_DIRECT_IO already. Sets f->mode (and f->direct when the reply
  // turns direct). After a refusal `f` is as before.
  Reply Open(Ino ino, bool direct_io, OpenFile* f);

  // `f` is released, or its open reply failed. Idempotent.
  void Release(Ino ino, OpenFile* f);

 private:
  int32_t OpenBacking(const FileLayout& layout);

  KernelIo* const io_;
  FileCache* const files_;
  BackingFiles* const backing_;
  const Notes notes_;
};

}  // namespace snapvol::fs
