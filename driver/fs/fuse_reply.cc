// Conversions between libfuse's requests and replies and the View's types
// (fuse_reply.h). FUSE layer: includes fuse_lowlevel.h.
#define FUSE_USE_VERSION 314

#include "driver/fs/fuse_reply.h"

#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "driver/fs/fuse_ops.h"

namespace snapvol::fs {

// The effective capabilities (CapEff in /proc/<tid>/status) of the thread
// that made a request; none if it cannot be read (pid 0: not visible in
// this PID namespace).
uint64_t EffectiveCaps(pid_t pid) {
  if (pid <= 0) return 0;
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/status", static_cast<int>(pid));
  FILE* f = std::fopen(path, "re");
  if (f == nullptr) return 0;
  uint64_t caps = 0;
  char line[256];
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    unsigned long long v = 0;
    if (std::sscanf(line, "CapEff: %llx", &v) == 1) {
      caps = v;
      break;
    }
  }
  std::fclose(f);
  return caps;
}

Cred CredOf(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  const pid_t pid = ctx->pid;
  return Cred(
      ctx->uid, ctx->gid,
      [req]() {
        std::vector<uint32_t> out;
        gid_t list[256];
        int n = fuse_req_getgroups(req, 256, list);
        for (int i = 0; i < n && i < 256; ++i) out.push_back(list[i]);
        return out;
      },
      [pid]() { return EffectiveCaps(pid); });
}

mode_t TypeBits(NodeType t) {
  switch (t) {
    case NodeType::kDir:
      return S_IFDIR;
    case NodeType::kSymlink:
      return S_IFLNK;
    case NodeType::kFifo:
      return S_IFIFO;
    case NodeType::kSocket:
      return S_IFSOCK;
    case NodeType::kCharDevice:
      return S_IFCHR;
    case NodeType::kBlockDevice:
      return S_IFBLK;
    case NodeType::kFile:
      break;
  }
  return S_IFREG;
}

void FillStat(const EntryOut& o, struct stat* st) {
  std::memset(st, 0, sizeof(*st));
  st->st_ino = o.ino;
  st->st_mode = TypeBits(o.type) | o.attr.mode;
  st->st_nlink = o.nlink;
  st->st_uid = o.attr.uid;
  st->st_gid = o.attr.gid;
  st->st_size = static_cast<off_t>(o.attr.size);
  st->st_blksize = 1 << 20;
  st->st_blocks = static_cast<blkcnt_t>((o.attr.size + 511) / 512);
  st->st_rdev = static_cast<dev_t>(o.attr.rdev);
  auto ts = [](int64_t ns) {
    struct timespec t;
    t.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    t.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    if (t.tv_nsec < 0) {
      t.tv_nsec += 1'000'000'000;
      --t.tv_sec;
    }
    return t;
  };
  st->st_atim = ts(o.attr.atime_ns);
  st->st_mtim = ts(o.attr.mtime_ns);
  st->st_ctim = ts(o.attr.ctime_ns);
}

fuse_entry_param EntryParam(const EntryOut& o) {
  fuse_entry_param e;
  std::memset(&e, 0, sizeof(e));
  e.ino = o.ino;
  e.generation = 0;
  FillStat(o, &e.attr);
  e.attr_timeout = o.attr_timeout;
  e.entry_timeout = o.entry_timeout;
  return e;
}

void ReplyEntry(fuse_req_t req, View& view, const Result<EntryOut>& r) {
  if (!r.ok()) {
    fuse_reply_err(req, ErrnoOf(r.status()));
    return;
  }
  fuse_entry_param e = EntryParam(*r);
  if (fuse_reply_entry(req, &e) != 0) {
    // The kernel did not take the reference (e.g. interrupted).
    view.Forget(r->ino, 1);
  }
}

void ReplyAttr(fuse_req_t req, const Result<EntryOut>& r) {
  if (!r.ok()) {
    fuse_reply_err(req, ErrnoOf(r.status()));
    return;
  }
  struct stat st;
  FillStat(*r, &st);
  fuse_reply_attr(req, &st, r->attr_timeout);
}

void ReplyStatus(fuse_req_t req, const core::Status& s) { fuse_reply_err(req, ErrnoOf(s)); }

void ReplyXattrValue(fuse_req_t req, const std::string& value, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, value.size());
  } else if (value.size() > size) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, value.data(), value.size());
  }
}

void ReplySegments(fuse_req_t req, const std::vector<Segment>& segs) {
  if (segs.empty()) {
    fuse_reply_buf(req, nullptr, 0);
    return;
  }
  const size_t n = segs.size();
  void* mem = std::malloc(sizeof(fuse_bufvec) + n * sizeof(fuse_buf));
  auto* bv = static_cast<fuse_bufvec*>(mem);
  std::memset(bv, 0, sizeof(fuse_bufvec) + n * sizeof(fuse_buf));
  bv->count = n;
  for (size_t i = 0; i < n; ++i) {
    fuse_buf& b = bv->buf[i];
    b.size = segs[i].len;
    if (segs[i].fd >= 0) {
      b.flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK | FUSE_BUF_FD_RETRY);
      b.fd = segs[i].fd;
      b.pos = static_cast<off_t>(segs[i].pos);
    } else {
      b.mem = const_cast<char*>(segs[i].mem);
    }
  }
  fuse_reply_data(req, bv, FUSE_BUF_SPLICE_MOVE);
  std::free(mem);
}

// Not zero-filled: recent kernels ask for up to a megabyte per readdir, and
// clearing it every call cost more than the listing (only the bytes the
// entries fill are touched, and sent).
DirReply::DirReply(fuse_req_t req, size_t size, bool plus)
    : req_(req), size_(size), plus_(plus), buf_(new char[size]) {}

bool DirReply::Add(const DirEntryOut& e) {
  char* const at = buf_.get() + used_;
  const off_t next = static_cast<off_t>(e.next_off);
  size_t need;
  if (plus_) {
    fuse_entry_param p;
    if (e.plus) {
      p = EntryParam(*e.plus);
    } else {
      std::memset(&p, 0, sizeof(p));
      p.attr.st_ino = e.ino;
      p.attr.st_mode = TypeBits(e.type);
    }
    need = fuse_add_direntry_plus(req_, at, size_ - used_, e.name.c_str(), &p, next);
  } else {
    struct stat st;
    std::memset(&st, 0, sizeof(st));
    st.st_ino = e.ino;
    st.st_mode = TypeBits(e.type);
    need = fuse_add_direntry(req_, at, size_ - used_, e.name.c_str(), &st, next);
  }
  if (need > size_ - used_) return false;
  used_ += need;
  return true;
}

void DirReply::Send() { fuse_reply_buf(req_, buf_.get(), used_); }

}  // namespace snapvol::fs
