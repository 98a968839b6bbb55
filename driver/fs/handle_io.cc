// HandleIo (handle_io.h).
#include "driver/fs/handle_io.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace snapvol::fs {
int32_t HandleIo::OpenBacking(const FileLayout& layout) {
  // No lock is held: opening a copy may be slow (a cold disk, a copy
  // checked and dropped as changed), and other opens go on meanwhile.
  const int fd = files_->Open(layout);
  if (fd < 0) {
    io_->CopyMissing(layout.content_key());
    return 0;
  }
  Result<int32_t> id = backing_->Open(fd);
  ::close(fd);
  if (id.ok()) return *id;
  const int err = id.status().sys_errno();
  if (BackingFiles::Permanent(err) && io_->enabled()) {
    io_->Disable();
    notes_.passthrough(false);
    std::fprintf(stderr, "snapvol mount: passthrough reads off: %s\n", std::strerror(err));
  }
  return 0;
}

HandleIo::Reply HandleIo::Open(Ino ino, bool direct_io, OpenFile* f) {
  Handle* h = f->handle;
  KernelIo::Open open;
  open.writable = h->writable;
  open.direct = direct_io;
  if (h->layout != nullptr) open.key = h->layout->content_key();
  KernelIo::Decision d = io_->BeginOpen(ino, open);
  if (d.action == KernelIo::Action::kOpenBacking) {
    d = io_->FinishOpen(ino, open, d.ticket, OpenBacking(*h->layout));
    if (d.close_backing > 0) backing_->Close(d.close_backing);
    if (d.new_backing) notes_.passthrough(true);
  }
  Reply reply;
  if (d.action == KernelIo::Action::kRefuse) {
    reply.refuse = true;
    return reply;
  }
  f->mode = d.mode();
  if (d.action != KernelIo::Action::kPassthrough) return reply;
  reply.backing_id = d.backing_id;
  reply.no_keep_cache = true;
  if (d.direct) {
    reply.direct_io = true;
    f->direct = true;
  } else {
    notes_.passthrough_open();
  }
  return reply;
}

void HandleIo::Release(Ino ino, OpenFile* f) {
  const KernelIo::Mode mode = f->mode;
  if (mode == KernelIo::Mode::kUntracked) return;
  if (const int32_t id = io_->Release(ino, mode); id > 0) backing_->Close(id);
  f->mode = KernelIo::Mode::kUntracked;
  const Handle* h = f->handle;
  const FileLayout* layout = h->layout.get();
  if (mode == KernelIo::Mode::kCached && layout != nullptr &&
      layout->size() >= FileCache::kMinFileBytes && layout->bytes_read() >= layout->size() / 2 &&
      io_->enabled() && io_->ShouldFill(layout->content_key())) {
    files_->Fill(h->layout);
  }
}

}  // namespace snapvol::fs
