// The passthrough bytes and ioctls (fuse_passthrough.h).
#include "driver/fs/fuse_passthrough.h"

#include <linux/fuse.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "driver/fs/sandbox.h"

namespace snapvol::fs {
namespace {

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

// struct fuse_backing_map.
struct BackingMap {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};
constexpr unsigned long kBackingOpenIoctl = _IOW(229, 1, BackingMap);
constexpr unsigned long kBackingCloseIoctl = _IOW(229, 2, uint32_t);
static_assert(kBackingOpenIoctl == kFuseBackingOpen && kBackingCloseIoctl == kFuseBackingClose);

}  // namespace

uint64_t InitOfferingPassthrough(const void* request, size_t size) {
  // fuse_init_in: major, minor, max_readahead, flags, flags2, ...
  uint32_t in[5];
  if (size < sizeof(fuse_in_header) + sizeof(in)) return 0;
  fuse_in_header h;
  std::memcpy(&h, request, sizeof(h));
  if (h.opcode != FUSE_INIT) return 0;
  std::memcpy(in, static_cast<const char*>(request) + sizeof(h), sizeof(in));
  if ((in[3] & kInitExt) == 0 || (in[4] & kInitPassthrough2) == 0) return 0;
  return h.unique;
}

AmendedReply AmendReply(struct iovec* iov, int count, int32_t open_backing, uint64_t init_unique) {
  if (count < 2 || iov[0].iov_len < sizeof(fuse_out_header)) return AmendedReply::kNone;
  fuse_out_header h;
  std::memcpy(&h, iov[0].iov_base, sizeof(h));
  if (h.error != 0) return AmendedReply::kNone;
  if (open_backing > 0 && (iov[1].iov_len == sizeof(OpenOut740) ||
                           iov[1].iov_len == sizeof(fuse_entry_out) + sizeof(OpenOut740))) {
    // OPEN, or CREATE (the entry, then the open).
    auto* o = reinterpret_cast<OpenOut740*>(static_cast<char*>(iov[1].iov_base) + iov[1].iov_len -
                                            sizeof(OpenOut740));
    o->open_flags = (o->open_flags & ~kOpenKeepCache) | kOpenPassthrough;
    o->backing_id = open_backing;
    return AmendedReply::kOpen;
  }
  if (init_unique != 0 && h.unique == init_unique && iov[1].iov_len >= sizeof(InitOut740)) {
    auto* o = static_cast<InitOut740*>(iov[1].iov_base);
    o->flags |= kInitExt;
    o->flags2 |= kInitPassthrough2;
    // Backing files may sit on any plain file system (stack depth 0), and
    // this mount may still be stacked under one overlay.
    o->max_stack_depth = 1;
    return AmendedReply::kInit;
  }
  return AmendedReply::kNone;
}

core::Result<int32_t> BackingFiles::Open(int fd) {
  BackingMap map = {fd, 0, 0};
  const int id = ::ioctl(dev_fd_, kBackingOpenIoctl, &map);
  if (id > 0) return static_cast<int32_t>(id);
  return core::Status::FromErrno(id == 0 ? EINVAL : errno, "registering a backing file");
}

void BackingFiles::Close(int32_t id) {
  uint32_t arg = static_cast<uint32_t>(id);
  ::ioctl(dev_fd_, kBackingCloseIoctl, &arg);
}

bool BackingFiles::Permanent(int err) {
  return err == EPERM || err == ELOOP || err == ENOTTY || err == EINVAL || err == EOPNOTSUPP;
}

}  // namespace snapvol::fs
