// fuse_floor: the fastest a FUSE file system can create small files on this
// machine. A server that stores nothing, speaking the kernel protocol on
// /dev/fuse directly (no libfuse) from one thread, mounted at MOUNTPOINT
// until it is unmounted. bench/mount_bench.sh times `fs_ops create` on it
// beside the real systems: no FUSE server, snapvol included, can create
// faster than this floor, so it shows which create ratios this machine
// allows at all (docs/performance.md "The FUSE floor").
//
//   fuse_floor MOUNTPOINT     (root; returns once mounted, serves in the
//                              background until the file system is unmounted)
//
// What it answers: LOOKUP of any name: ENOENT (so every new name costs the
// kernel's LOOKUP, as on any file system that has not seen it); MKDIR and
// CREATE: a new inode; WRITE: all bytes taken; FLUSH: ENOSYS (the kernel
// then skips it, as snapvol's FOPEN_NOFLUSH does); GETATTR, STATFS, RELEASE.
#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

int g_fd = -1;
uint64_t g_next_ino = 2;
std::unordered_set<uint64_t> g_dirs = {FUSE_ROOT_ID};

void FillAttr(uint64_t ino, fuse_attr* a) {
  std::memset(a, 0, sizeof(*a));
  a->ino = ino;
  const bool dir = g_dirs.count(ino) != 0;
  a->mode = dir ? (S_IFDIR | 0755) : (S_IFREG | 0644);
  a->nlink = dir ? 2 : 1;
  a->blksize = 4096;
}

void FillEntry(uint64_t ino, fuse_entry_out* e) {
  std::memset(e, 0, sizeof(*e));
  e->nodeid = ino;
  e->entry_valid = 3600;
  e->attr_valid = 3600;
  FillAttr(ino, &e->attr);
}

void Send(uint64_t unique, int error, const void* arg, size_t size) {
  fuse_out_header h{static_cast<uint32_t>(sizeof(h) + size), error, unique};
  iovec v[2] = {{&h, sizeof(h)}, {const_cast<void*>(arg), size}};
  if (::writev(g_fd, v, size > 0 ? 2 : 1) < 0 && errno != ENOENT) std::perror("fuse_floor: writev");
}

// Answers one request; false when the session is over.
bool Serve(const char* buf, size_t n) {
  if (n < sizeof(fuse_in_header)) return false;
  fuse_in_header in;
  std::memcpy(&in, buf, sizeof(in));
  const char* arg = buf + sizeof(in);
  switch (in.opcode) {
    case FUSE_INIT: {
      fuse_init_out o;
      std::memset(&o, 0, sizeof(o));
      o.major = FUSE_KERNEL_VERSION;
      o.minor = 31;
      o.max_readahead = 128 << 10;
      o.max_write = 128 << 10;
      o.max_background = 16;
      o.congestion_threshold = 12;
      o.time_gran = 1;
      Send(in.unique, 0, &o, sizeof(o));
      return true;
    }
    case FUSE_GETATTR: {
      fuse_attr_out o;
      std::memset(&o, 0, sizeof(o));
      o.attr_valid = 3600;
      FillAttr(in.nodeid, &o.attr);
      Send(in.unique, 0, &o, sizeof(o));
      return true;
    }
    case FUSE_MKDIR: {
      fuse_entry_out o;
      const uint64_t ino = g_next_ino++;
      g_dirs.insert(ino);
      FillEntry(ino, &o);
      Send(in.unique, 0, &o, sizeof(o));
      return true;
    }
    case FUSE_CREATE: {
      struct {
        fuse_entry_out entry;
        fuse_open_out open;
      } o;
      std::memset(&o, 0, sizeof(o));
      FillEntry(g_next_ino++, &o.entry);
      Send(in.unique, 0, &o, sizeof(o));
      return true;
    }
    case FUSE_WRITE: {
      fuse_write_in w;
      std::memcpy(&w, arg, sizeof(w));
      fuse_write_out o{w.size, 0};
      Send(in.unique, 0, &o, sizeof(o));
      return true;
    }
    case FUSE_STATFS: {
      fuse_statfs_out o;
      std::memset(&o, 0, sizeof(o));
      o.st.bsize = 4096;
      o.st.namelen = 255;
      Send(in.unique, 0, &o, sizeof(o));
      return true;
    }
    case FUSE_OPENDIR:
    case FUSE_OPEN: {
      fuse_open_out o;
      std::memset(&o, 0, sizeof(o));
      Send(in.unique, 0, &o, sizeof(o));
      return true;
    }
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR:
      Send(in.unique, 0, nullptr, 0);
      return true;
    case FUSE_FORGET:
    case FUSE_BATCH_FORGET:
      return true;
    case FUSE_DESTROY:
      Send(in.unique, 0, nullptr, 0);
      return false;
    case FUSE_LOOKUP:
      Send(in.unique, -ENOENT, nullptr, 0);
      return true;
    default:
      Send(in.unique, -ENOSYS, nullptr, 0);
      return true;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuse_floor MOUNTPOINT\n");
    return 2;
  }
  g_fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (g_fd < 0) {
    std::perror("fuse_floor: /dev/fuse");
    return 1;
  }
  const std::string opts =
      "fd=" + std::to_string(g_fd) + ",rootmode=40000,user_id=0,group_id=0,allow_other";
  if (::mount("fuse_floor", argv[1], "fuse.fuse_floor", MS_NOSUID | MS_NODEV, opts.c_str()) != 0) {
    std::perror("fuse_floor: mount");
    return 1;
  }
  // Mounted: serve in the background, detached from the caller's output
  // (a pipe left open would keep a caller waiting for its end).
  if (::daemon(0, 0) != 0) {
    std::perror("fuse_floor: daemon");
    return 1;
  }
  std::vector<char> buf(FUSE_MIN_READ_BUFFER + (128 << 10));
  for (;;) {
    ssize_t n = ::read(g_fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR || errno == ENOENT || errno == EAGAIN) continue;
      if (errno != ENODEV) std::perror("fuse_floor: read");
      return 0;
    }
    if (!Serve(buf.data(), static_cast<size_t>(n))) return 0;
  }
}
