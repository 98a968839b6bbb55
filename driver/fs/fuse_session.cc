// The FUSE session loop and our I/O on /dev/fuse (fuse_session.h). FUSE
// layer: includes fuse_lowlevel.h.
#define FUSE_USE_VERSION 314

#include "driver/fs/fuse_session.h"

#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "driver/fs/fuse_ops.h"

namespace snapvol::fs {
namespace {

// The backing id of the open reply this thread is sending (0: none).
thread_local int32_t tl_open_backing = 0;

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
  if (f) f << (kFuseMaxWrite >> 10) * 4;
}

ssize_t ReceiveRead(int fd, void* buf, size_t len, void* userdata) {
  auto* s = static_cast<FuseSession*>(userdata);
  const ssize_t n = s->receiver != nullptr ? s->receiver->Read(fd, buf, len) : ::read(fd, buf, len);
  if (s->want_passthrough && n > 0) {
    if (uint64_t unique = InitOfferingPassthrough(buf, static_cast<size_t>(n)); unique != 0) {
      s->init_unique.store(unique);
    }
  }
  return n;
}

ssize_t SendWritev(int fd, struct iovec* iov, int count, void* userdata) {
  auto* s = static_cast<FuseSession*>(userdata);
  if (AmendReply(iov, count, tl_open_backing, s->init_unique.load()) == AmendedReply::kInit) {
    s->init_unique.store(0);
    s->io.Accept();
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
core::Status UseCustomIo(fuse_session* se, FuseSession* session) {
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

void Teardown(FuseSession* session, fuse_session* se) {
  session->control.reset();
  session->async.reset();
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
}

// Reads and answers the first request, which must be the kernel's INIT,
// on this thread, then leaves reading to the loop's threads.
core::Status ServeInit(fuse_session* se, FuseSession* session) {
  // Plain reads for this one request (ReceiveRead still sees INIT for
  // passthrough); the receiver's primary role is for a loop thread.
  std::unique_ptr<RequestReceiver> receiver = std::move(session->receiver);
  struct Restore {
    FuseSession* s;
    std::unique_ptr<RequestReceiver>* r;
    ~Restore() { s->receiver = std::move(*r); }
  } restore{session, &receiver};
  fuse_buf buf;
  std::memset(&buf, 0, sizeof(buf));
  const int n = fuse_session_receive_buf(se, &buf);
  if (n <= 0) {
    std::free(buf.mem);
    return core::Status::FromErrno(n < 0 ? -n : EIO, "waiting for the kernel's FUSE INIT");
  }
  fuse_in_header h;
  std::memcpy(&h, buf.mem, std::min(sizeof(h), static_cast<size_t>(n)));
  if (static_cast<size_t>(n) < sizeof(h) || h.opcode != FUSE_INIT) {
    std::free(buf.mem);
    return core::Status::Internal("the handed-over FUSE connection did not start with INIT");
  }
  fuse_session_process_buf(se, &buf);
  std::free(buf.mem);
  return core::Status::Ok();
}

}  // namespace

std::string FuseMountOptions(const MountOptions& options, const std::string& fsname) {
  std::string opts =
      "allow_other,fsname=" + fsname + ",subtype=snapvol,max_read=" + std::to_string(kFuseMaxRead);
  if (options.read_only) opts += ",ro";
  return opts;
}

void SetOpenReplyBacking(int32_t backing_id) { tl_open_backing = backing_id; }

void ExpireEntry(FuseSession* s, Ino parent, const std::string& name) {
  if (fuse_lowlevel_notify_expire_entry(s->se, parent, name.data(), name.size(),
                                        FUSE_LL_EXPIRE_ONLY) == -ENOSYS) {
    fuse_lowlevel_notify_inval_entry(s->se, parent, name.data(), name.size());
  }
}

void DeliverInvalidations(FuseSession* s, Invalidations inv, bool async_root) {
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
    ExpireEntry(s, parent, name);
  }
  for (Ino ino : inv.inodes) fuse_lowlevel_notify_inval_inode(s->se, ino, 0, 0);
  s->async->Add(std::move(later));
}

core::Status ServeFuse(MountServer& server, const std::function<core::Status()>& ready) {
  const MountOptions& o = server.options();
  std::vector<std::string> argv_s = {"snapvol", "-o", FuseMountOptions(o, server.fsname())};
  // SNAPVOL_FUSE_DEBUG=1 logs every request (libfuse -d) to the server log.
  if (const char* d = std::getenv("SNAPVOL_FUSE_DEBUG"); d != nullptr && *d == '1') {
    argv_s.push_back("-d");
  }
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());

  const fuse_lowlevel_ops& ops = FuseOps();
  FuseSession session;
  session.server = &server;
  fuse_session* se = fuse_session_new(&args, &ops, sizeof(ops), &session);
  if (se == nullptr) return core::Status::Internal("fuse_session_new failed");
  session.se = se;
  if (fuse_set_signal_handlers(se) != 0) {
    fuse_session_destroy(se);
    return core::Status::Internal("cannot install signal handlers");
  }
  // A connection mounted by someone else (snapvol-hook, into a container's
  // namespace) is served as libfuse's "/dev/fd/N": nothing to mount, and
  // nothing to unmount at the end.
  const bool handed_over = o.fuse_fd >= 0;
  const std::string target = handed_over ? "/dev/fd/" + std::to_string(o.fuse_fd) : o.mountpoint;
  if (fuse_session_mount(se, target.c_str()) != 0) {
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return core::Status::FromErrno(EIO, "mounting FUSE at " + o.mountpoint);
  }
  session.backing = std::make_unique<BackingFiles>(fuse_session_fd(se));
  HandleIo::Notes notes;
  notes.passthrough = [&server](bool in_use) { server.NotePassthrough(in_use); };
  notes.passthrough_open = [&server] { server.NotePassthroughOpen(); };
  session.handles = std::make_unique<HandleIo>(&session.io, &server.files(), session.backing.get(),
                                               std::move(notes));
  session.async = std::make_unique<AsyncInvalidator>([se](Ino parent, const std::string& name) {
    fuse_lowlevel_notify_inval_entry(se, parent, name.data(), name.size());
  });
  session.control = std::make_unique<ControlAttrs>(
      &server, &session.io,
      [&session](Invalidations inv, bool async_root) {
        DeliverInvalidations(&session, std::move(inv), async_root);
      },
      [&session] { session.async->Drain(); });
  if (core::Status st = UseCustomIo(se, &session); !st.ok()) {
    std::fprintf(stderr, "snapvol mount: %s; every loop thread reads requests\n",
                 st.ToString().c_str());
  }
  if (handed_over) {
    // The mount exists already; "ready" means the kernel's INIT is answered
    // (a container may use the mount the moment the hook returns).
    if (core::Status st = ServeInit(se, &session); !st.ok()) {
      Teardown(&session, se);
      return st;
    }
  } else {
    TuneReadahead(o.mountpoint);
  }
  if (core::Status st = ready(); !st.ok()) {
    Teardown(&session, se);
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
  Teardown(&session, se);
  if (rc != 0 && rc != -ENODEV && rc != ENODEV) {
    // A signal ends the loop with its number; that is a normal stop.
    if (rc < 0) return core::Status::FromErrno(-rc, "serving FUSE");
  }
  return core::Status::Ok();
}

}  // namespace snapvol::fs
