// How the View's answers become libfuse replies, and a request's caller a
// Cred: struct stat and fuse_entry_param of an EntryOut, replies of an
// entry, attributes, a Status (as errno, ErrnoOf), an xattr value, read
// segments (spliced from their files where they have one) and directory
// listings.
//
// FUSE layer: fuse_reply.cc includes fuse_lowlevel.h; this header only
// names libfuse's types. Used by fuse_ops.cc alone.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "driver/core/result.h"
#include "driver/fs/access.h"
#include "driver/fs/file_layout.h"
#include "driver/fs/view.h"

struct fuse_req;
struct fuse_entry_param;

namespace snapvol::fs {

// The effective capabilities (CapEff in /proc/<tid>/status) of thread
// `pid`; none if it cannot be read (pid 0: not visible in this PID
// namespace).
uint64_t EffectiveCaps(pid_t pid);

// The caller of `req`; its groups and capabilities are read when needed.
Cred CredOf(fuse_req* req);

// The S_IF* bits of a node type.
mode_t TypeBits(NodeType t);
// The struct stat of an entry (all fields set).
void FillStat(const EntryOut& o, struct stat* st);
fuse_entry_param EntryParam(const EntryOut& o);

// Replies with the entry, or the error. An entry the kernel did not take
// (the request was interrupted) is forgotten in `view` again.
void ReplyEntry(fuse_req* req, View& view, const Result<EntryOut>& r);
void ReplyAttr(fuse_req* req, const Result<EntryOut>& r);
void ReplyStatus(fuse_req* req, const core::Status& s);
// An xattr value for a buffer of `size` bytes: its size if `size` is 0,
// ERANGE if it does not fit.
void ReplyXattrValue(fuse_req* req, const std::string& value, size_t size);
// A read's segments: file segments are spliced, memory ones copied.
void ReplySegments(fuse_req* req, const std::vector<Segment>& segs);

// A READDIR or READDIRPLUS reply being filled, up to the `size` bytes the
// kernel asked for. Not thread-safe; one per request.
class DirReply {
 public:
  DirReply(fuse_req* req, size_t size, bool plus);
  DirReply(const DirReply&) = delete;
  DirReply& operator=(const DirReply&) = delete;

  // Adds an entry; false if it does not fit (the listing stops there).
  bool Add(const DirEntryOut& e);
  size_t used() const { return used_; }
  // Replies with the entries added.
  void Send();

 private:
  fuse_req* const req_;
  const size_t size_;
  const bool plus_;
  std::unique_ptr<char[]> buf_;
  size_t used_ = 0;
};

}  // namespace snapvol::fs
