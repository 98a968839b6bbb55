// The libfuse3 low-level operations of a mount. Entry points only validate,
// call the View or MountServer and reply; Status becomes errno here (ErrnoOf)
// and nowhere else.
#define FUSE_USE_VERSION 314

#include "driver/fs/fuse_ops.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "driver/core/monotonic_clock.h"
#include "driver/fs/control_json.h"
#include "driver/fs/posix_error.h"
#include "driver/fs/sandbox.h"

namespace snapvol::fs {

int ErrnoOf(const core::Status& s) {
  if (s.ok()) return 0;
  if (s.sys_errno() != 0) return s.sys_errno();
  switch (s.code()) {
    case core::Code::kNotFound:
      return ENOENT;
    case core::Code::kAlreadyExists:
      return EEXIST;
    case core::Code::kInvalidArgument:
      return EINVAL;
    case core::Code::kFailedPrecondition:
      return EPERM;
    case core::Code::kResourceExhausted:
      return ENOSPC;
    case core::Code::kPermissionDenied:
      return EACCES;
    case core::Code::kReadOnly:
      return EROFS;
    case core::Code::kAborted:
      return EAGAIN;
    case core::Code::kCorruption:
    case core::Code::kIOError:
    case core::Code::kUnavailable:
    case core::Code::kInternal:
    default:
      return EIO;
  }
}

namespace {

constexpr size_t kMaxWrite = 1 << 20;
// Reads are answered by splicing chunk files into /dev/fuse through a pipe;
// libfuse needs the pipe a few pages larger than the reply and unprivileged
// (no CAP_SYS_RESOURCE) pipes stop at fs.pipe-max-size (1 MiB by default),
// so a 1 MiB reply would fall back to copying through a fresh buffer.
constexpr size_t kMaxRead = 512 << 10;
constexpr size_t kControlProbeSize = 64 << 10;

// Invalidations that must wait until the current request has been answered:
// entries directly under the root while a setxattr on the root holds the
// root's inode lock (the kernel would deadlock otherwise).
class AsyncInvalidator {
 public:
  explicit AsyncInvalidator(fuse_session* se) : se_(se), thread_([this] { Run(); }) {}
  ~AsyncInvalidator() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Add(std::vector<std::pair<Ino, std::string>> entries) {
    if (entries.empty()) return;
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& e : entries) queue_.push_back(std::move(e));
    cv_.notify_all();
  }
  // Waits until everything queued so far was delivered.
  void Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    idle_cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty() && stop_) return;
      auto e = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      lock.unlock();
      fuse_lowlevel_notify_inval_entry(se_, e.first, e.second.data(), e.second.size());
      lock.lock();
      busy_ = false;
      if (queue_.empty()) idle_cv_.notify_all();
    }
  }
  fuse_session* se_;
  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<std::pair<Ino, std::string>> queue_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

// ---------------------------------------------------------------------------
// RequestReceiver.

RequestReceiver::RequestReceiver() : supervisor_([this] { Supervise(); }) {}

RequestReceiver::~RequestReceiver() {
  {
    std::lock_guard<std::mutex> l(sup_mu_);
    stop_ = true;
  }
  sup_cv_.notify_all();
  supervisor_.join();
  pthread_cond_destroy(&park_cv_);
  pthread_mutex_destroy(&park_mu_);
}

ssize_t RequestReceiver::Read(int fd, void* buf, size_t len) {
  if (!Primary() && !ParkOrClaim()) return ::read(fd, buf, len);
  busy_since_.store(0);
  ssize_t n = ::read(fd, buf, len);
  if (n < static_cast<ssize_t>(sizeof(fuse_in_header))) return n;
  busy_since_.store(core::MonotonicNanos());
  requests_.fetch_add(1);
  if (dormant_.load()) WakeSupervisor();
  if (MayTakeLong(buf, static_cast<size_t>(n))) SetHelpers(true);
  return n;
}

bool RequestReceiver::MayTakeLong(const void* request, size_t size) {
  if (size < sizeof(fuse_in_header)) return false;
  fuse_in_header in;
  std::memcpy(&in, request, sizeof(in));
  switch (in.opcode) {
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR:
      return true;
    case FUSE_SETXATTR:
    case FUSE_GETXATTR:
      return in.nodeid == kRootIno;  // the control attributes commit and reload
    default:
      return false;
  }
}

namespace {

// The receiver whose primary this thread is. The role ends with the thread
// (libfuse ends idle threads).
struct PrimaryRole {
  RequestReceiver* owner = nullptr;
  ~PrimaryRole() {
    if (owner != nullptr) owner->ReleasePrimary();
  }
};
thread_local PrimaryRole t_role;

}  // namespace

bool RequestReceiver::Primary() const { return t_role.owner == this; }

void RequestReceiver::ReleasePrimary() {
  pthread_mutex_lock(&park_mu_);
  primary_taken_ = false;
  pthread_cond_broadcast(&park_cv_);
  pthread_mutex_unlock(&park_mu_);
}

bool RequestReceiver::ParkOrClaim() {
  // Raw pthread calls: libfuse cancels its threads while they wait for a
  // request, and the forced unwind must not meet a noexcept frame.
  pthread_mutex_lock(&park_mu_);
  struct Unlock {
    pthread_mutex_t* m;
    ~Unlock() { pthread_mutex_unlock(m); }
  } unlock{&park_mu_};
  for (;;) {
    if (!primary_taken_ && t_role.owner == nullptr) {
      primary_taken_ = true;
      t_role.owner = this;
      return true;
    }
    if (helpers_.load()) return false;
    pthread_cond_wait(&park_cv_, &park_mu_);
  }
}

void RequestReceiver::SetHelpers(bool on) {
  if (helpers_.load() == on) return;
  pthread_mutex_lock(&park_mu_);
  helpers_.store(on);
  if (on) pthread_cond_broadcast(&park_cv_);
  pthread_mutex_unlock(&park_mu_);
}

void RequestReceiver::WakeSupervisor() {
  {
    std::lock_guard<std::mutex> l(sup_mu_);
    dormant_.store(false);
  }
  sup_cv_.notify_one();
}

void RequestReceiver::Supervise() {
  std::unique_lock<std::mutex> l(sup_mu_);
  uint64_t seen = requests_.load();
  int64_t last_request = core::MonotonicNanos();
  while (!stop_) {
    const int64_t now = core::MonotonicNanos();
    const int64_t since = busy_since_.load();
    if (since != 0 && now - since >= kStallNs) SetHelpers(true);
    if (since == 0) SetHelpers(false);
    if (const uint64_t r = requests_.load(); r != seen) {
      seen = r;
      last_request = now;
    }
    if (since == 0 && now - last_request >= kDormantNs) {
      dormant_.store(true);
      // Read() stores busy_since_ before it loads dormant_ (both seq_cst):
      // either it sees dormant_ and wakes us, or we see its request here.
      if (busy_since_.load() == 0 && requests_.load() == seen) {
        sup_cv_.wait(l, [this] { return stop_ || !dormant_.load(); });
      }
      dormant_.store(false);
      last_request = core::MonotonicNanos();
      continue;
    }
    sup_cv_.wait_for(l, std::chrono::nanoseconds(kStallNs));
  }
}

// ---------------------------------------------------------------------------

namespace {

// ---------------------------------------------------------------------------
// Passthrough reads (kernel >= 6.9, docs/mount.md). libfuse 3.14 predates
// them, so the INIT and OPEN replies are amended on their way to the kernel
// (SendWritev), in the layout of the kernel's protocol 7.40, and the
// backing files are registered with the /dev/fuse ioctls directly. Debian
// 12's linux/fuse.h predates them too, hence our own names.

constexpr uint32_t kInitExt = 1u << 30;                  // FUSE_INIT_EXT in flags
constexpr uint32_t kInitPassthrough2 = 1u << (37 - 32);  // FUSE_PASSTHROUGH in flags2
constexpr uint32_t kOpenKeepCache = 1u << 1;             // FOPEN_KEEP_CACHE
constexpr uint32_t kOpenPassthrough = 1u << 7;           // FOPEN_PASSTHROUGH

// The start of fuse_init_out as of 7.40.
struct InitOut740 {
  uint32_t major, minor, max_readahead, flags;
  uint16_t max_background, congestion_threshold;
  uint32_t max_write, time_gran;
  uint16_t max_pages, map_alignment;
  uint32_t flags2, max_stack_depth;
};
// fuse_open_out as of 7.40 (`padding` became `backing_id`).
struct OpenOut740 {
  uint64_t fh;
  uint32_t open_flags;
  int32_t backing_id;
};
static_assert(sizeof(OpenOut740) == sizeof(fuse_open_out));

// Which of an inode's open handles use the page cache and which pass
// through, mirroring the kernel (fs/fuse/iomode.c): an inode's handles are
// all cached or all passed through to one backing file; an open that would
// mix them fails with EIO. Handles opened with FOPEN_DIRECT_IO take no part.
struct InodeIo {
  uint32_t cached = 0;
  uint32_t passthrough = 0;
  uint32_t changing = 0;  // writable handles and truncates (BeginChange)
  int32_t backing_id = 0;
  core::Hash key;  // FileLayout::content_key() of the backing file
};

struct Session {
  MountServer* server = nullptr;
  fuse_session* se = nullptr;
  std::unique_ptr<AsyncInvalidator> async;
  std::unique_ptr<RequestReceiver> receiver;

  // Passthrough: the kernel offers it in INIT; our amended reply accepts.
  bool want_passthrough = false;
  std::atomic<uint64_t> init_unique{0};  // INIT's request id, once offered
  std::atomic<bool> tracking{false};     // accepted: opens are counted in `io`
  std::atomic<bool> passthrough{false};  // new backing files may be opened
  std::mutex io_mu;
  std::unordered_map<Ino, InodeIo> io;  // guarded by io_mu
};

// The backing id OpOpen is replying with on this thread (0: none).
thread_local int32_t tl_open_backing = 0;

bool BeginChange(Session* s, Ino ino);
void EndChange(Session* s, Ino ino);

Session* S(fuse_req_t req) { return static_cast<Session*>(fuse_req_userdata(req)); }
View& V(fuse_req_t req) { return S(req)->server->view(); }

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

void ReplyEntry(fuse_req_t req, const Result<EntryOut>& r) {
  if (!r.ok()) {
    fuse_reply_err(req, ErrnoOf(r.status()));
    return;
  }
  fuse_entry_param e = EntryParam(*r);
  if (fuse_reply_entry(req, &e) != 0) {
    // The kernel did not take the reference (e.g. interrupted).
    V(req).Forget(r->ino, 1);
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

Handle* H(fuse_file_info* fi) { return reinterpret_cast<Handle*>(fi->fh); }

// Delivers kernel invalidations after a reload. `async_root` queues the
// entries directly under the root instead of delivering them now (the
// caller holds the root's inode lock).
// Makes the kernel look (parent, name) up again on its next use. Expiring
// rather than invalidating leaves the dentry in place: a process whose
// working directory it is keeps a valid getcwd, and mounts on it stay.
void ExpireEntry(fuse_session* se, Ino parent, const std::string& name) {
  if (fuse_lowlevel_notify_expire_entry(se, parent, name.data(), name.size(),
                                        FUSE_LL_EXPIRE_ONLY) == -ENOSYS) {
    fuse_lowlevel_notify_inval_entry(se, parent, name.data(), name.size());
  }
}

void Deliver(Session* s, Invalidations inv, bool async_root) {
  std::vector<std::pair<Ino, std::string>> later;
  for (auto& [parent, name] : inv.entries) {
    if (async_root && parent == kRootIno) {
      later.emplace_back(parent, std::move(name));
      continue;
    }
    fuse_lowlevel_notify_inval_entry(s->se, parent, name.data(), name.size());
  }
  for (auto& [parent, name] : inv.expire) {
    if (async_root && parent == kRootIno) {
      later.emplace_back(parent, std::move(name));
      continue;
    }
    ExpireEntry(s->se, parent, name);
  }
  for (Ino ino : inv.inodes) fuse_lowlevel_notify_inval_inode(s->se, ino, 0, 0);
  s->async->Add(std::move(later));
}

// ---------------------------------------------------------------------------

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
  conn->max_write = kMaxWrite;
  conn->max_read = kMaxRead;
  conn->max_readahead = 4 * kMaxWrite;
  conn->time_gran = 1;
  (void)userdata;
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  ReplyEntry(req, V(req).Lookup(parent, name, CredOf(req)));
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
  Session* s = S(req);
  // A truncate changes the bytes: not while handles pass through (BeginChange).
  const bool change = in.size.has_value();
  if (change && !BeginChange(s, ino)) {
    fuse_reply_err(req, ETXTBSY);
    return;
  }
  Result<EntryOut> r = s->server->view().SetAttr(ino, in, CredOf(req));
  if (change) EndChange(s, ino);
  ReplyAttr(req, r);
  if (r.ok() && r->type == NodeType::kDir && (in.mode || in.uid || in.gid)) {
    // Names cached under a directory that some users may not search any
    // more must be looked up again (View::NamesToRecheck). Only after the
    // reply: the caller holds the directory's inode lock until then.
    for (const std::string& name : s->server->view().NamesToRecheck(ino)) {
      ExpireEntry(s->se, ino, name);
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
  ReplyEntry(req, V(req).Mknod(parent, name, mode, rdev, CredOf(req)));
}

void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  ReplyEntry(req, V(req).Mkdir(parent, name, mode, CredOf(req)));
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  ReplyStatus(req, V(req).Unlink(parent, name, CredOf(req)));
}

void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  ReplyStatus(req, V(req).Rmdir(parent, name, CredOf(req)));
}

void OpSymlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  ReplyEntry(req, V(req).Symlink(parent, name, link, CredOf(req)));
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags) {
  Session* s = S(req);
  const std::string to = newname;
  core::Status st = s->server->view().Rename(parent, name, newparent, to, flags, CredOf(req));
  ReplyStatus(req, st);
  if (st.ok()) {
    // The kernel keeps the moved name's cache lifetime; into a directory
    // some users may not search it must be looked up again (as in setattr).
    for (const std::string& n : s->server->view().NamesToRecheck(newparent)) {
      if (n == to) ExpireEntry(s->se, newparent, n);
    }
  }
}

void OpLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  ReplyEntry(req, V(req).Link(ino, newparent, newname, CredOf(req)));
}

// Write-only handles bypass the kernel's page cache (FOPEN_DIRECT_IO): the
// application's bytes go straight into the WRITE request instead of first
// being copied into fresh page-cache pages of the mount, which cost as much
// CPU here as the server's whole handling of a big write. Nothing reads or
// maps through such a handle; other handles' cached pages are dropped
// after each write (OpWriteBuf).
void UseDirectIo(fuse_file_info* fi, Handle* h) {
  if ((fi->flags & O_ACCMODE) != O_WRONLY) return;
  fi->direct_io = 1;
  h->direct = true;
}

// struct fuse_backing_map.
struct BackingMap {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};
constexpr unsigned long kBackingOpenIoctl = _IOW(229, 1, BackingMap);
constexpr unsigned long kBackingCloseIoctl = _IOW(229, 2, uint32_t);
static_assert(kBackingOpenIoctl == kFuseBackingOpen && kBackingCloseIoctl == kFuseBackingClose);

void StopPassthrough(Session* s, int err) {
  if (!s->passthrough.exchange(false)) return;
  s->server->NotePassthrough(false);
  std::fprintf(stderr, "snapvol mount: passthrough reads off: %s\n", std::strerror(err));
}

// Registers `fd` as a backing file: its id, or 0.
int32_t OpenBacking(Session* s, int fd) {
  BackingMap map = {fd, 0, 0};
  const int id = ::ioctl(fuse_session_fd(s->se), kBackingOpenIoctl, &map);
  if (id > 0) return id;
  const int err = id == 0 ? EINVAL : errno;
  // EPERM: no CAP_SYS_ADMIN, or the kernel refused passthrough at INIT;
  // ELOOP: the cache sits on a stacked file system; ENOTTY/EINVAL: no
  // support. None of them changes while this mount lives. Anything else
  // (out of memory or descriptors) fails this open's passthrough only.
  if (err == EPERM || err == ELOOP || err == ENOTTY || err == EINVAL || err == EOPNOTSUPP) {
    StopPassthrough(s, err);
  }
  return 0;
}

// A change of a file's bytes (a writable open, a truncate) while handles
// of it pass through to a host copy: the kernel would go on serving them
// the copy (S2 wants this mount's writes visible at once inside it), and
// any mmap of the writer's handle would map the copy itself, shared by the
// host. So it is refused with ETXTBSY, as Linux refuses to write a program
// that is running (false). Otherwise the inode is held for the change until
// EndChange, and no passthrough starts on it meanwhile.
bool BeginChange(Session* s, Ino ino) {
  if (!s->tracking.load(std::memory_order_relaxed)) return true;
  std::lock_guard<std::mutex> lock(s->io_mu);
  InodeIo& io = s->io[ino];
  if (io.passthrough > 0) return false;
  ++io.changing;
  return true;
}

void EndChange(Session* s, Ino ino) {
  if (!s->tracking.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(s->io_mu);
  auto it = s->io.find(ino);
  if (it == s->io.end()) return;
  InodeIo& io = it->second;
  if (io.changing > 0) --io.changing;
  if (io.cached == 0 && io.passthrough == 0 && io.changing == 0) s->io.erase(it);
}

// Decides how the kernel does the I/O of a handle being opened on `ino` and
// records it: cached (the default), passed through to the host's copy of
// the file (FileCache), or direct. Returns the backing id to put in the
// reply, 0, or -ETXTBSY for a writer that must not open. Once the kernel
// accepted passthrough every open is counted, even after passthrough was
// turned off, so inodes still passed through keep getting what the kernel
// requires.
int32_t ChooseIo(Session* s, Ino ino, fuse_file_info* fi, Handle* h) {
  if (!s->tracking.load(std::memory_order_relaxed)) return 0;
  const FileLayout* layout = h->layout.get();
  std::lock_guard<std::mutex> lock(s->io_mu);
  if (auto it = s->io.find(ino); it != s->io.end() && it->second.passthrough > 0) {
    InodeIo& io = it->second;
    // Writers were refused (BeginChange); one that got here created the
    // file while it was found open (a race of CREATE with a lookup).
    if (h->writable) return -ETXTBSY;
    // Every open of an inode that passes through must name the same
    // backing file (with any other mode the kernel fails the open).
    ++io.passthrough;
    h->kernel_io = Handle::KernelIo::kPassthrough;
    fi->keep_cache = 0;
    if (layout == nullptr || layout->content_key() != io.key) {
      // Other content than the copy's: its reads go through the mount
      // (FOPEN_DIRECT_IO overrides passthrough; the handle is read-only).
      fi->direct_io = 1;
      h->direct = true;
    } else {
      s->server->NotePassthroughOpen();
    }
    return io.backing_id;
  }
  // A direct handle with no backing file on the inode takes no part.
  if (fi->direct_io) return 0;
  InodeIo& io = s->io[ino];
  if (io.cached == 0 && io.changing == 0 && layout != nullptr &&
      s->passthrough.load(std::memory_order_relaxed)) {
    const int fd = s->server->files().Open(*layout);
    if (fd >= 0) {
      const int32_t id = OpenBacking(s, fd);
      ::close(fd);
      if (id > 0) {
        io.passthrough = 1;
        io.backing_id = id;
        io.key = layout->content_key();
        h->kernel_io = Handle::KernelIo::kPassthrough;
        fi->keep_cache = 0;
        s->server->NotePassthroughOpen();
        return id;
      }
    }
  }
  ++io.cached;
  h->kernel_io = Handle::KernelIo::kCached;
  return 0;
}

// Undoes ChooseIo when the handle is released. When the handles of a large
// committed file have read most of it through the mount, the host copies
// it, so its next opens pass through.
void EndIo(Session* s, Ino ino, Handle* h) {
  if (h->kernel_io == Handle::KernelIo::kUntracked) return;
  {
    std::lock_guard<std::mutex> lock(s->io_mu);
    auto it = s->io.find(ino);
    if (it != s->io.end()) {
      InodeIo& io = it->second;
      if (h->kernel_io == Handle::KernelIo::kCached) {
        if (io.cached > 0) --io.cached;
      } else if (io.passthrough > 0 && --io.passthrough == 0) {
        uint32_t id = static_cast<uint32_t>(io.backing_id);
        ::ioctl(fuse_session_fd(s->se), kBackingCloseIoctl, &id);
      }
      if (io.cached == 0 && io.passthrough == 0 && io.changing == 0) s->io.erase(it);
    }
  }
  if (h->kernel_io == Handle::KernelIo::kCached && h->layout != nullptr &&
      h->layout->bytes_read() >= h->layout->size() / 2 &&
      s->passthrough.load(std::memory_order_relaxed)) {
    s->server->files().Fill(h->layout);
  }
  h->kernel_io = Handle::KernelIo::kUntracked;
}

// Replies to an open with the I/O mode ChooseIo picked.
int ReplyOpen(Session* s, fuse_req_t req, Ino ino, fuse_file_info* fi, Handle* h) {
  const int32_t backing = ChooseIo(s, ino, fi, h);
  if (backing < 0) {
    fuse_reply_err(req, -backing);
    return -1;
  }
  tl_open_backing = backing;
  const int rc = fuse_reply_open(req, fi);
  tl_open_backing = 0;
  if (rc != 0) EndIo(s, ino, h);
  return rc;
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Session* s = S(req);
  const bool change = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC) != 0;
  if (change && !BeginChange(s, ino)) {
    fuse_reply_err(req, ETXTBSY);
    return;
  }
  Result<OpenOut> r = V(req).Open(ino, fi->flags, CredOf(req));
  // A writable handle holds the inode until released; a truncate only now.
  if (change && (!r.ok() || !r->handle->writable)) EndChange(s, ino);
  if (!r.ok()) {
    fuse_reply_err(req, ErrnoOf(r.status()));
    return;
  }
  fi->fh = reinterpret_cast<uint64_t>(r->handle);
  fi->keep_cache = r->keep_cache ? 1 : 0;
  // Our FLUSH does nothing (writes are synchronous, errors surface on
  // write/fsync/commit): spare close() the round trip.
  fi->noflush = 1;
  UseDirectIo(fi, r->handle);
  if (ReplyOpen(s, req, ino, fi, r->handle) != 0) {
    if (r->handle->writable) EndChange(s, ino);
    V(req).Release(r->handle);
  }
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  auto r = V(req).Create(parent, name, mode, fi->flags, CredOf(req));
  if (!r.ok()) {
    fuse_reply_err(req, ErrnoOf(r.status()));
    return;
  }
  fi->fh = reinterpret_cast<uint64_t>(r->second.handle);
  fi->keep_cache = 1;
  fi->noflush = 1;
  UseDirectIo(fi, r->second.handle);
  Session* s = S(req);
  Handle* h = r->second.handle;
  // Counted like any open; a writer of an existing file that passes
  // through is refused (ChooseIo), though CREATE already opened it.
  const int32_t backing = ChooseIo(s, r->first.ino, fi, h);
  if (backing < 0) {
    fuse_reply_err(req, -backing);
    V(req).Release(h);
    V(req).Forget(r->first.ino, 1);
    return;
  }
  // Cannot fail: ChooseIo refused writers of an inode that passes through.
  if (h->writable) (void)BeginChange(s, r->first.ino);
  fuse_entry_param e = EntryParam(r->first);
  tl_open_backing = backing;
  const int rc = fuse_reply_create(req, &e, fi);
  tl_open_backing = 0;
  if (rc != 0) {
    if (h->writable) EndChange(s, r->first.ino);
    EndIo(s, r->first.ino, r->second.handle);
    V(req).Release(r->second.handle);
    V(req).Forget(r->first.ino, 1);
  }
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

void OpWriteBuf(fuse_req_t req, fuse_ino_t ino, fuse_bufvec* in, off_t off, fuse_file_info* fi) {
  const size_t size = fuse_buf_size(in);
  Result<View::WriteTicket> ticket = V(req).BeginWrite(H(fi), CredOf(req), H(fi)->direct);
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
  EndIo(S(req), ino, H(fi));
  if (H(fi)->writable) EndChange(S(req), ino);
  V(req).Release(H(fi));
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
  // Not zero-filled: recent kernels ask for up to a megabyte per readdir,
  // and clearing it every call cost more than the listing (only the bytes
  // the entries fill are touched, and sent).
  std::unique_ptr<char[]> mem(new char[size]);
  char* const buf = mem.get();
  size_t used = 0;
  core::Status s =
      V(req).ReadDir(H(fi), static_cast<uint64_t>(off), plus, [&](const DirEntryOut& e) -> bool {
        size_t need;
        if (plus) {
          fuse_entry_param p;
          if (e.plus) {
            p = EntryParam(*e.plus);
          } else {
            std::memset(&p, 0, sizeof(p));
            p.attr.st_ino = e.ino;
            p.attr.st_mode = TypeBits(e.type);
          }
          need = fuse_add_direntry_plus(req, buf + used, size - used, e.name.c_str(), &p,
                                        static_cast<off_t>(e.next_off));
        } else {
          struct stat st;
          std::memset(&st, 0, sizeof(st));
          st.st_ino = e.ino;
          st.st_mode = TypeBits(e.type);
          need = fuse_add_direntry(req, buf + used, size - used, e.name.c_str(), &st,
                                   static_cast<off_t>(e.next_off));
        }
        if (need > size - used) return false;
        used += need;
        return true;
      });
  if (!s.ok() && used == 0) {
    fuse_reply_err(req, ErrnoOf(s));
    return;
  }
  fuse_reply_buf(req, buf, used);
}

void OpReaddir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  DoReaddir(req, size, off, fi, false);
}

void OpReaddirplus(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  DoReaddir(req, size, off, fi, true);
}

void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  V(req).ReleaseDir(H(fi));
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

bool IsControl(fuse_ino_t ino, const char* name) {
  return ino == kRootIno && std::strncmp(name, kXattrPrefix, std::strlen(kXattrPrefix)) == 0;
}

void ReplyXattrValue(fuse_req_t req, const std::string& value, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, value.size());
  } else if (value.size() > size) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, value.data(), value.size());
  }
}

// Control attributes on the root (docs/mount.md "Control"). Allowed for any
// user who may read the root.
void ControlSet(fuse_req_t req, const char* name) {
  Session* s = S(req);
  core::Status access = s->server->view().Access(kRootIno, kMayRead, CredOf(req));
  if (!access.ok()) {
    ReplyStatus(req, access);
    return;
  }
  if (std::strcmp(name, kXattrCommit) == 0) {
    ReplyStatus(req, s->server->Commit(CommitTrigger::kExplicit, fuse_req_ctx(req)->uid).status());
  } else if (std::strcmp(name, kXattrReload) == 0) {
    Result<Invalidations> inv = s->server->Reload();
    if (!inv.ok()) {
      ReplyStatus(req, inv.status());
      return;
    }
    // The caller holds the root's inode lock until we answer: entries under
    // the root are invalidated right after (their entry timeout is short).
    Deliver(s, std::move(*inv), /*async_root=*/true);
    fuse_reply_err(req, 0);
  } else {
    fuse_reply_err(req, EPERM);
  }
}

void ControlGet(fuse_req_t req, const char* name, size_t size) {
  Session* s = S(req);
  core::Status access = s->server->view().Access(kRootIno, kMayRead, CredOf(req));
  if (!access.ok()) {
    ReplyStatus(req, access);
    return;
  }
  std::string value;
  if (std::strcmp(name, kXattrVersion) == 0) {
    value = std::to_string(s->server->view().base_version());
  } else if (std::strcmp(name, kXattrStatus) == 0) {
    s->async->Drain();
    value = s->server->StatusJson();
    if (size == 0) {
      fuse_reply_xattr(req, std::max(value.size(), kControlProbeSize));
      return;
    }
  } else if (std::strcmp(name, kXattrCommit) == 0 || std::strcmp(name, kXattrReload) == 0) {
    // A read of these runs the action and returns its result as JSON; used
    // by the CLI because getxattr holds no inode lock (docs/mount.md). A
    // size probe only answers the size bound, without acting.
    if (size == 0) {
      fuse_reply_xattr(req, kControlProbeSize);
      return;
    }
    if (std::strcmp(name, kXattrCommit) == 0) {
      Result<CommitInfo> r = s->server->Commit(CommitTrigger::kExplicit, fuse_req_ctx(req)->uid);
      if (!r.ok()) {
        ReplyStatus(req, r.status());
        return;
      }
      value = EncodeCommitInfo(*r);
    } else {
      Result<Invalidations> inv = s->server->Reload();
      if (!inv.ok()) {
        ReplyStatus(req, inv.status());
        return;
      }
      s->async->Drain();
      Deliver(s, std::move(*inv), /*async_root=*/false);
      value = std::to_string(s->server->view().base_version());
    }
  } else {
    fuse_reply_err(req, ENODATA);
    return;
  }
  ReplyXattrValue(req, value, size);
}

void OpSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags) {
  if (IsControl(ino, name)) {
    ControlSet(req, name);
    return;
  }
  ReplyStatus(req, V(req).SetXattr(ino, name, std::string(value, size), flags, CredOf(req)));
}

void OpGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  if (IsControl(ino, name)) {
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
  if (IsControl(ino, name)) {
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

// Raises the kernel's readahead for this mount's backing device (FUSE
// defaults to 128 KiB), so sequential reads arrive in max_read requests.
// The device number comes from mountinfo: a stat() of the mountpoint would
// wait for our own (not yet running) session loop.
void TuneReadahead(const std::string& mountpoint) {
  std::ifstream info("/proc/self/mountinfo");
  std::string line, dev;
  while (std::getline(info, line)) {
    std::istringstream in(line);
    std::string id, parent, majmin, root, mp;
    in >> id >> parent >> majmin >> root >> mp;
    if (mp == mountpoint) dev = majmin;  // the last (topmost) mount wins
  }
  if (dev.empty()) return;
  std::ofstream f("/sys/class/bdi/" + dev + "/read_ahead_kb");
  if (f) f << (kMaxWrite >> 10) * 4;
}

ssize_t ReceiveRead(int fd, void* buf, size_t len, void* userdata) {
  Session* s = static_cast<Session*>(userdata);
  const ssize_t n = s->receiver != nullptr ? s->receiver->Read(fd, buf, len) : ::read(fd, buf, len);
  if (s->want_passthrough && n >= static_cast<ssize_t>(sizeof(fuse_in_header) + 5 * 4)) {
    fuse_in_header h;
    std::memcpy(&h, buf, sizeof(h));
    if (h.opcode == FUSE_INIT) {
      // fuse_init_in: major, minor, max_readahead, flags, flags2, ...
      uint32_t in[5];
      std::memcpy(in, static_cast<const char*>(buf) + sizeof(h), sizeof(in));
      if ((in[3] & kInitExt) != 0 && (in[4] & kInitPassthrough2) != 0) {
        s->init_unique.store(h.unique);
      }
    }
  }
  return n;
}

ssize_t SendWritev(int fd, struct iovec* iov, int count, void* userdata) {
  Session* s = static_cast<Session*>(userdata);
  if (count >= 2 && iov[0].iov_len >= sizeof(fuse_out_header)) {
    fuse_out_header h;
    std::memcpy(&h, iov[0].iov_base, sizeof(h));
    if (h.error == 0 && tl_open_backing > 0 &&
        (iov[1].iov_len == sizeof(OpenOut740) ||
         iov[1].iov_len == sizeof(fuse_entry_out) + sizeof(OpenOut740))) {
      // OPEN, or CREATE (the entry, then the open).
      auto* o = reinterpret_cast<OpenOut740*>(static_cast<char*>(iov[1].iov_base) + iov[1].iov_len -
                                              sizeof(OpenOut740));
      // The page cache of the inode is not used while it passes through:
      // dropping it frees the memory.
      o->open_flags = (o->open_flags & ~kOpenKeepCache) | kOpenPassthrough;
      o->backing_id = tl_open_backing;
    } else if (h.error == 0 && h.unique != 0 && h.unique == s->init_unique.load() &&
               iov[1].iov_len >= sizeof(InitOut740)) {
      auto* o = static_cast<InitOut740*>(iov[1].iov_base);
      o->flags |= kInitExt;
      o->flags2 |= kInitPassthrough2;
      // Backing files may sit on any plain file system (stack depth 0),
      // and this mount may still be stacked under one overlay.
      o->max_stack_depth = 1;
      s->init_unique.store(0);
      s->tracking.store(true);
      s->passthrough.store(true);
      s->server->NotePassthrough(true);
    }
  }
  return ::writev(fd, iov, count);
}

// Without these libfuse copies replies from files through a fresh buffer
// instead of splicing them (measured: parallel reads 8x slower).
ssize_t SpliceReceive(int fdin, off_t* offin, int fdout, off_t* offout, size_t len,
                      unsigned int flags, void*) {
  return ::splice(fdin, offin, fdout, offout, len, flags);
}

ssize_t SpliceSend(int fdin, off_t* offin, int fdout, off_t* offout, size_t len, unsigned int flags,
                   void*) {
  return ::splice(fdin, offin, fdout, offout, len, flags);
}

bool EnvOff(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v == '0';
}

// Installs our I/O on /dev/fuse: the RequestReceiver (SNAPVOL_FUSE_PRIMARY=0
// keeps libfuse's own reads, every pool thread reading, e.g. to compare)
// and the amended replies for passthrough (SNAPVOL_PASSTHROUGH=0 or a file
// cache budget of 0 keeps every read in the mount).
core::Status UseCustomIo(fuse_session* se, Session* session) {
  if (!EnvOff("SNAPVOL_FUSE_PRIMARY")) session->receiver = std::make_unique<RequestReceiver>();
  // Registering backing files needs CAP_SYS_ADMIN: a non-root server would
  // only make copies it cannot use.
  session->want_passthrough =
      !EnvOff("SNAPVOL_PASSTHROUGH") && session->server->files().enabled() && ::geteuid() == 0;
  fuse_custom_io io;
  std::memset(&io, 0, sizeof(io));
  io.read = ReceiveRead;
  io.writev = SendWritev;
  io.splice_receive = SpliceReceive;
  io.splice_send = SpliceSend;
  if (int rc = fuse_session_custom_io(se, &io, fuse_session_fd(se)); rc != 0) {
    session->receiver.reset();
    session->want_passthrough = false;
    return core::Status::FromErrno(-rc, "installing the request receiver");
  }
  return core::Status::Ok();
}

}  // namespace

core::Status ServeFuse(MountServer& server, const std::function<core::Status()>& ready) {
  const MountOptions& o = server.options();
  std::string opts = "allow_other,fsname=" + server.fsname() +
                     ",subtype=snapvol,max_read=" + std::to_string(kMaxRead);
  if (o.read_only) opts += ",ro";
  std::vector<std::string> argv_s = {"snapvol", "-o", opts};
  // SNAPVOL_FUSE_DEBUG=1 logs every request (libfuse -d) to the server log.
  if (const char* d = std::getenv("SNAPVOL_FUSE_DEBUG"); d != nullptr && *d == '1') {
    argv_s.push_back("-d");
  }
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());

  static const fuse_lowlevel_ops ops = MakeOps();
  Session session;
  session.server = &server;
  fuse_session* se = fuse_session_new(&args, &ops, sizeof(ops), &session);
  if (se == nullptr) return core::Status::Internal("fuse_session_new failed");
  session.se = se;
  if (fuse_set_signal_handlers(se) != 0) {
    fuse_session_destroy(se);
    return core::Status::Internal("cannot install signal handlers");
  }
  if (fuse_session_mount(se, o.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return core::Status::FromErrno(EIO, "mounting FUSE at " + o.mountpoint);
  }
  session.async = std::make_unique<AsyncInvalidator>(se);
  if (core::Status st = UseCustomIo(se, &session); !st.ok()) {
    std::fprintf(stderr, "snapvol mount: %s; every loop thread reads requests\n",
                 st.ToString().c_str());
  }
  TuneReadahead(o.mountpoint);
  if (core::Status st = ready(); !st.ok()) {
    session.async.reset();
    fuse_session_unmount(se);
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return st;
  }
  server.StartBackground();

  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(cfg, 0);
  fuse_loop_cfg_set_max_threads(cfg, 64);
  fuse_loop_cfg_set_idle_threads(cfg, 8);
  int rc = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);

  server.StopBackground();
  session.async.reset();
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  if (rc != 0 && rc != -ENODEV && rc != ENODEV) {
    // A signal ends the loop with its number; that is a normal stop.
    if (rc < 0) return core::Status::FromErrno(-rc, "serving FUSE");
  }
  return core::Status::Ok();
}

}  // namespace snapvol::fs
