// The libfuse3 low-level operations of a mount (fuse_ops.h). Entry points
// only decode, call the View, MountServer, KernelIo or ControlAttrs, and
// reply; Status becomes errno here (ErrnoOf) and nowhere else.
#define FUSE_USE_VERSION 314

#include "driver/fs/fuse_ops.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "driver/core/errno_code.h"
#include "driver/fs/fuse_reply.h"
#include "driver/fs/fuse_session.h"

namespace snapvol::fs {

int ErrnoOf(const core::Status& s) { return core::ErrnoForStatus(s); }

namespace {

FuseSession* S(fuse_req_t req) { return static_cast<FuseSession*>(fuse_req_userdata(req)); }
View& V(fuse_req_t req) { return S(req)->server->view(); }

// fi->fh: an OpenFile (handle_io.h) for files, the View's Handle for
// directories.
OpenFile* F(fuse_file_info* fi) { return reinterpret_cast<OpenFile*>(fi->fh); }
Handle* H(fuse_file_info* fi) { return F(fi)->handle; }
Handle* D(fuse_file_info* fi) { return reinterpret_cast<Handle*>(fi->fh); }

void OpInit(void* userdata, fuse_conn_info* conn) {
  unsigned want = FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
                  FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO | FUSE_CAP_PARALLEL_DIROPS |
                  FUSE_CAP_ASYNC_READ | FUSE_CAP_EXPORT_SUPPORT;
  conn->want |= want & conn->capable;
  // Our attributes change only through this mount or an explicit reload
  // (which invalidates), so the kernel need not drop cached pages when it
  // sees a new mtime; the kernel clears setuid bits itself via setattr.
  conn->want &= ~(FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_HANDLE_KILLPRIV | FUSE_CAP_WRITEBACK_CACHE |
                  FUSE_CAP_SPLICE_READ);
  conn->max_write = kFuseMaxWrite;
  conn->max_read = kFuseMaxRead;
  conn->max_readahead = 4 * kFuseMaxWrite;
  conn->time_gran = 1;
  (void)userdata;
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  ReplyEntry(req, V(req), V(req).Lookup(parent, name, CredOf(req)));
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  V(req).Forget(ino, nlookup);
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) V(req).Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void OpGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  ReplyAttr(req, V(req).GetAttr(ino));
}

void OpSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  SetAttrIn in;
  if (to_set & FUSE_SET_ATTR_MODE) in.mode = attr->st_mode & 07777;
  if (to_set & FUSE_SET_ATTR_UID) in.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) in.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) in.size = static_cast<uint64_t>(attr->st_size);
  if (to_set & FUSE_SET_ATTR_ATIME) {
    in.atime_ns = attr->st_atim.tv_sec * 1'000'000'000LL + attr->st_atim.tv_nsec;
  }
  if (to_set & FUSE_SET_ATTR_MTIME) {
    in.mtime_ns = attr->st_mtim.tv_sec * 1'000'000'000LL + attr->st_mtim.tv_nsec;
  }
  in.atime_now = (to_set & FUSE_SET_ATTR_ATIME_NOW) != 0;
  in.mtime_now = (to_set & FUSE_SET_ATTR_MTIME_NOW) != 0;
  in.via_handle = fi != nullptr;
  FuseSession* s = S(req);
  // A truncate changes the bytes: not while handles pass through (BeginChange).
  const bool change = in.size.has_value();
  if (change && !s->io.BeginChange(ino)) {
    fuse_reply_err(req, ETXTBSY);
    return;
  }
  Result<EntryOut> r = s->server->view().SetAttr(ino, in, CredOf(req));
  if (change) s->io.EndChange(ino);
  ReplyAttr(req, r);
  if (r.ok() && r->type == NodeType::kDir && (in.mode || in.uid || in.gid)) {
    // Names cached under a directory that some users may not search any
    // more must be looked up again (View::NamesToRecheck). Only after the
    // reply: the caller holds the directory's inode lock until then.
    for (const std::string& name : s->server->view().NamesToRecheck(ino)) {
      ExpireEntry(s, ino, name);
    }
  }
}

void OpReadlink(fuse_req_t req, fuse_ino_t ino) {
  Result<std::string> r = V(req).ReadLink(ino);
  if (!r.ok()) {
    fuse_reply_err(req, ErrnoOf(r.status()));
    return;
  }
  fuse_reply_readlink(req, r->c_str());
}

void OpMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  ReplyEntry(req, V(req), V(req).Mknod(parent, name, mode, rdev, CredOf(req)));
}

void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  ReplyEntry(req, V(req), V(req).Mkdir(parent, name, mode, CredOf(req)));
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  ReplyStatus(req, V(req).Unlink(parent, name, CredOf(req)));
}

void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  ReplyStatus(req, V(req).Rmdir(parent, name, CredOf(req)));
}

void OpSymlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  ReplyEntry(req, V(req), V(req).Symlink(parent, name, link, CredOf(req)));
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags) {
  FuseSession* s = S(req);
  const std::string to = newname;
  core::Status st = s->server->view().Rename(parent, name, newparent, to, flags, CredOf(req));
  ReplyStatus(req, st);
  if (st.ok()) {
    // The kernel keeps the moved name's cache lifetime; into a directory
    // some users may not search it must be looked up again (as in setattr).
    for (const std::string& n : s->server->view().NamesToRecheck(newparent)) {
      if (n == to) ExpireEntry(s, newparent, n);
    }
  }
}

void OpLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  ReplyEntry(req, V(req), V(req).Link(ino, newparent, newname, CredOf(req)));
}

// Write-only handles bypass the kernel's page cache (FOPEN_DIRECT_IO): the
// application's bytes go straight into the WRITE request instead of first
// being copied into fresh page-cache pages of the mount, which cost as much
// CPU here as the server's whole handling of a big write. Nothing reads or
// maps through such a handle; other handles' cached pages are dropped
// after each write (OpWriteBuf).
void UseDirectIo(fuse_file_info* fi, OpenFile* f) {
  if ((fi->flags & O_ACCMODE) != O_WRONLY) return;
  fi->direct_io = 1;
  f->direct = true;
}

// Applies HandleIo's choice (handle_io.h) to an open reply: the backing id
// to put in it, or -ETXTBSY for a writer that must not open.
int32_t ChooseIo(FuseSession* s, Ino ino, fuse_file_info* fi, OpenFile* f) {
  const HandleIo::Reply r = s->handles->Open(ino, fi->direct_io != 0, f);
  if (r.refuse) return -ETXTBSY;
  if (r.no_keep_cache) fi->keep_cache = 0;
  if (r.direct_io) fi->direct_io = 1;
  return r.backing_id;
}

// Replies to an open with the I/O mode ChooseIo picked.
int ReplyOpen(FuseSession* s, fuse_req_t req, Ino ino, fuse_file_info* fi, OpenFile* f) {
  const int32_t backing = ChooseIo(s, ino, fi, f);
  if (backing < 0) {
    fuse_reply_err(req, -backing);
    return -1;
  }
  SetOpenReplyBacking(backing);
  const int rc = fuse_reply_open(req, fi);
  SetOpenReplyBacking(0);
  if (rc != 0) s->handles->Release(ino, f);
  return rc;
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FuseSession* s = S(req);
  const bool change = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC) != 0;
  if (change && !s->io.BeginChange(ino)) {
    fuse_reply_err(req, ETXTBSY);
    return;
  }
  Result<OpenOut> r = V(req).Open(ino, fi->flags, CredOf(req));
  // A writable handle holds the inode until released; a truncate only now.
  if (change && (!r.ok() || !r->handle->writable)) s->io.EndChange(ino);
  if (!r.ok()) {
    fuse_reply_err(req, ErrnoOf(r.status()));
    return;
  }
  auto file = std::make_unique<OpenFile>();
  file->handle = r->handle;
  fi->fh = reinterpret_cast<uint64_t>(file.get());
  fi->keep_cache = r->keep_cache ? 1 : 0;
  // Our FLUSH does nothing (writes are synchronous, errors surface on
  // write/fsync/commit): spare close() the round trip.
  fi->noflush = 1;
  UseDirectIo(fi, file.get());
  if (ReplyOpen(s, req, ino, fi, file.get()) != 0) {
    if (r->handle->writable) s->io.EndChange(ino);
    V(req).Release(r->handle);
    return;
  }
  file.release();  // owned by the kernel's handle until RELEASE
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  auto r = V(req).Create(parent, name, mode, fi->flags, CredOf(req));
  if (!r.ok()) {
    fuse_reply_err(req, ErrnoOf(r.status()));
    return;
  }
  auto file = std::make_unique<OpenFile>();
  file->handle = r->second.handle;
  fi->fh = reinterpret_cast<uint64_t>(file.get());
  fi->keep_cache = 1;
  fi->noflush = 1;
  UseDirectIo(fi, file.get());
  FuseSession* s = S(req);
  Handle* h = r->second.handle;
  // Counted like any open; a writer of an existing file that passes
  // through is refused (ChooseIo), though CREATE already opened it.
  const int32_t backing = ChooseIo(s, r->first.ino, fi, file.get());
  if (backing < 0) {
    fuse_reply_err(req, -backing);
    V(req).Release(h);
    V(req).Forget(r->first.ino, 1);
    return;
  }
  // Cannot fail: ChooseIo refused writers of an inode that passes through.
  if (h->writable) (void)s->io.BeginChange(r->first.ino);
  fuse_entry_param e = EntryParam(r->first);
  SetOpenReplyBacking(backing);
  const int rc = fuse_reply_create(req, &e, fi);
  SetOpenReplyBacking(0);
  if (rc != 0) {
    if (h->writable) s->io.EndChange(r->first.ino);
    s->handles->Release(r->first.ino, file.get());
    V(req).Release(r->second.handle);
    V(req).Forget(r->first.ino, 1);
    return;
  }
  file.release();  // owned by the kernel's handle until RELEASE
}

void OpRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  if (const FileLayout* layout = H(fi)->layout.get()) layout->NoteRead(size);
  S(req)->server->NoteRead();
  std::vector<Segment> segs;
  core::Status s = V(req).Read(H(fi), static_cast<uint64_t>(off), size, &segs);
  if (!s.ok()) {
    fuse_reply_err(req, ErrnoOf(s));
    return;
  }
  ReplySegments(req, segs);
}

void OpWriteBuf(fuse_req_t req, fuse_ino_t ino, fuse_bufvec* in, off_t off, fuse_file_info* fi) {
  const size_t size = fuse_buf_size(in);
  Result<View::WriteTicket> ticket = V(req).BeginWrite(H(fi), CredOf(req), F(fi)->direct);
  if (!ticket.ok()) {
    fuse_reply_err(req, ErrnoOf(ticket.status()));
    return;
  }
  if (ticket->mode_changed()) fuse_lowlevel_notify_inval_inode(S(req)->se, ino, -1, 0);
  const UpperFile::Use& use = ticket->use();
  Result<size_t> r = core::Status::Internal("unset");
  if (in->count == 1 && in->idx == 0 && in->off == 0 && (in->buf[0].flags & FUSE_BUF_IS_FD) == 0) {
    r = use.Pwrite(std::string_view(static_cast<const char*>(in->buf[0].mem), size),
                   static_cast<uint64_t>(off));
  } else {
    use.WritesRaw();
    fuse_bufvec out = FUSE_BUFVEC_INIT(size);
    out.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    out.buf[0].fd = use.fd();
    out.buf[0].pos = off;
    ssize_t n = fuse_buf_copy(&out, in, static_cast<fuse_buf_copy_flags>(0));
    if (n < 0) {
      r = core::Status::FromErrno(static_cast<int>(-n), "writing the upper file");
    } else {
      r = static_cast<size_t>(n);
    }
  }
  const bool open_elsewhere = ticket->open_elsewhere();
  if (r.ok()) {
    core::Status ended = V(req).EndWrite(std::move(*ticket), static_cast<uint64_t>(off), *r);
    if (!ended.ok()) r = ended;
  }
  if (!r.ok()) {
    fuse_reply_err(req, ErrnoOf(r.status()));
    return;
  }
  if (open_elsewhere) {
    // A reader's cached pages of this range (or a partial last page) are
    // stale now. The kernel holds only the inode lock here, which the
    // invalidation does not take.
    fuse_lowlevel_notify_inval_inode(S(req)->se, ino, off, static_cast<off_t>(*r));
  }
  fuse_reply_write(req, *r);
}

void OpFlush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void OpRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  std::unique_ptr<OpenFile> file(F(fi));
  S(req)->handles->Release(ino, file.get());
  if (file->handle->writable) S(req)->io.EndChange(ino);
  V(req).Release(file->handle);
  fuse_reply_err(req, 0);
}

void OpFsync(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info* fi) {
  ReplyStatus(req, V(req).Fsync(H(fi), datasync != 0));
}

void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Result<Handle*> r = V(req).OpenDir(ino, CredOf(req));
  if (!r.ok()) {
    fuse_reply_err(req, ErrnoOf(r.status()));
    return;
  }
  fi->fh = reinterpret_cast<uint64_t>(*r);
  // Let the kernel keep the listing between opens (a warm `find` or `ls -R`
  // then never asks us): it drops it itself when an entry changes through
  // this mount, and Reload invalidates every directory it changes.
  fi->cache_readdir = 1;
  fi->keep_cache = 1;
  if (fuse_reply_open(req, fi) != 0) V(req).ReleaseDir(*r);
}

void DoReaddir(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi, bool plus) {
  DirReply reply(req, size, plus);
  core::Status s = V(req).ReadDir(D(fi), static_cast<uint64_t>(off), plus,
                                  [&reply](const DirEntryOut& e) { return reply.Add(e); });
  if (!s.ok() && reply.used() == 0) {
    fuse_reply_err(req, ErrnoOf(s));
    return;
  }
  reply.Send();
}

void OpReaddir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  DoReaddir(req, size, off, fi, false);
}

void OpReaddirplus(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  DoReaddir(req, size, off, fi, true);
}

void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  V(req).ReleaseDir(D(fi));
  fuse_reply_err(req, 0);
}

void OpFsyncdir(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
  if (ino == kRootIno && !V(req).read_only()) {
    // `sync MOUNTPOINT`: fsync of the mount root commits (S3). Opening the
    // root needed only read access, so any user of the mount can commit.
    Result<CommitInfo> r = S(req)->server->Commit(CommitTrigger::kExplicit, fuse_req_ctx(req)->uid);
    ReplyStatus(req, r.status());
    return;
  }
  ReplyStatus(req, V(req).SyncJournal());
}

void OpStatfs(fuse_req_t req, fuse_ino_t) {
  Result<StatFsOut> r = V(req).StatFs();
  if (!r.ok()) {
    fuse_reply_err(req, ErrnoOf(r.status()));
    return;
  }
  struct statvfs st;
  std::memset(&st, 0, sizeof(st));
  st.f_bsize = r->block_size;
  st.f_frsize = r->block_size;
  st.f_blocks = r->blocks;
  st.f_bfree = r->blocks_free;
  st.f_bavail = r->blocks_avail;
  st.f_files = r->files;
  st.f_ffree = r->files_free;
  st.f_favail = r->files_free;
  st.f_namemax = r->name_max;
  fuse_reply_statfs(req, &st);
}

// Control attributes on the root (ControlAttrs, docs/mount.md "Control").
void ControlGet(fuse_req_t req, const char* name, size_t size) {
  Result<ControlAttrs::Value> r =
      S(req)->control->Get(name, size, CredOf(req), fuse_req_ctx(req)->uid);
  if (!r.ok()) {
    fuse_reply_err(req, ErrnoOf(r.status()));
  } else if (size == 0) {
    fuse_reply_xattr(req, r->probe_size);
  } else {
    ReplyXattrValue(req, r->value, size);
  }
}

void OpSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags) {
  if (ControlAttrs::IsControl(ino, name)) {
    ReplyStatus(req, S(req)->control->Set(name, CredOf(req), fuse_req_ctx(req)->uid));
    return;
  }
  ReplyStatus(req, V(req).SetXattr(ino, name, std::string(value, size), flags, CredOf(req)));
}

void OpGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  if (ControlAttrs::IsControl(ino, name)) {
    ControlGet(req, name, size);
    return;
  }
  Result<std::string> r = V(req).GetXattr(ino, name, CredOf(req));
  if (!r.ok()) {
    fuse_reply_err(req, ErrnoOf(r.status()));
    return;
  }
  ReplyXattrValue(req, *r, size);
}

void OpListxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Result<std::vector<std::string>> r = V(req).ListXattr(ino, CredOf(req));
  if (!r.ok()) {
    fuse_reply_err(req, ErrnoOf(r.status()));
    return;
  }
  std::string out;
  for (const std::string& n : *r) {
    out += n;
    out.push_back('\0');
  }
  ReplyXattrValue(req, out, size);
}

void OpRemovexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  if (ControlAttrs::IsControl(ino, name)) {
    fuse_reply_err(req, EPERM);
    return;
  }
  ReplyStatus(req, V(req).RemoveXattr(ino, name, CredOf(req)));
}

void OpAccess(fuse_req_t req, fuse_ino_t ino, int mask) {
  ReplyStatus(req, V(req).Access(ino, mask, CredOf(req)));
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof(ops));
  ops.init = OpInit;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetattr;
  ops.setattr = OpSetattr;
  ops.readlink = OpReadlink;
  ops.mknod = OpMknod;
  ops.mkdir = OpMkdir;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmdir;
  ops.symlink = OpSymlink;
  ops.rename = OpRename;
  ops.link = OpLink;
  ops.open = OpOpen;
  ops.create = OpCreate;
  ops.read = OpRead;
  ops.write_buf = OpWriteBuf;
  ops.flush = OpFlush;
  ops.release = OpRelease;
  ops.fsync = OpFsync;
  ops.opendir = OpOpendir;
  ops.readdir = OpReaddir;
  ops.readdirplus = OpReaddirplus;
  ops.releasedir = OpReleasedir;
  ops.fsyncdir = OpFsyncdir;
  ops.statfs = OpStatfs;
  ops.setxattr = OpSetxattr;
  ops.getxattr = OpGetxattr;
  ops.listxattr = OpListxattr;
  ops.removexattr = OpRemovexattr;
  ops.access = OpAccess;
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& FuseOps() {
  static const fuse_lowlevel_ops ops = MakeOps();
  return ops;
}

}  // namespace snapvol::fs
