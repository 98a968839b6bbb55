// ChangeSet: an ordered list of path operations that a commit applies on top
// of the volume's head *as it is when the commit lands* (S6), not on
// top of the writer's old base. Per path, the last commit to land wins.
//
// Application rules (TreeEditor):
//   Put      replaces whatever is at the path; missing parent directories are
//            created (0755, uid/gid 0, commit time); a parent that is not a
//            directory is replaced by one.
//   Mkdir    creates a directory; if one exists, only its attributes change.
//   Delete   removes the path and everything below it; absent = no-op.
//   SetAttr  changes attributes of an existing path; absent = no-op.
//   Rename   moves the entry found at `from` in the head being applied to
//            (a directory moves as one subtree reference, no data copied);
//            absent source = skipped (reported in CommitResult::skipped).
//   Copy     like Rename but keeps the source.
// Paths are validated when added (core::SplitVolumePath): ".." is rejected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "driver/core/result.h"
#include "snapvol_objects.pb.h"

namespace snapvol::volume {

using core::Result;
using core::Status;
using Path = std::vector<std::string>;  // validated components; empty = root

struct AttrChange {
  std::optional<uint32_t> mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<int64_t> mtime_ns;
  std::optional<uint64_t> size;  // FILE only: truncate/extend (zero fill)
};

struct ChangeOp {
  enum class Kind { kPut, kMkdir, kDelete, kSetAttr, kRename, kCopy };
  Kind kind;
  Path path;             // target (Put/Mkdir/Delete/SetAttr), source (Rename/Copy)
  Path to;               // Rename/Copy destination
  objects::Entry entry;  // Put: the entry (name is ignored); Mkdir: its attributes
  AttrChange attrs;      // SetAttr
  // Mkdir of a directory that already exists: entry.xattrs() is its whole
  // set of xattrs and replaces the old one (false: they are left alone,
  // e.g. when the caller changed only mode or owner and never read them).
  bool set_xattrs = false;
};

class ChangeSet {
 public:
  // Each returns InvalidArgument for an invalid path; Put/Mkdir/Rename/Copy
  // also refuse the root as target.
  Status Put(std::string_view path, objects::Entry entry);
  Status Mkdir(std::string_view path, uint32_t mode, uint32_t uid, uint32_t gid, int64_t mtime_ns);
  Status Delete(std::string_view path);
  Status SetAttr(std::string_view path, AttrChange attrs);
  // InvalidArgument if `to` is `from` or inside it.
  Status Rename(std::string_view from, std::string_view to);
  Status Copy(std::string_view from, std::string_view to);

  // Same, with pre-split paths (callers that already hold components).
  void Add(ChangeOp op) { ops_.push_back(std::move(op)); }

  const std::vector<ChangeOp>& ops() const { return ops_; }
  std::vector<ChangeOp>* mutable_ops() { return &ops_; }
  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }
  // Bytes of new file content this change set references (for summaries).
  uint64_t bytes_written() const { return bytes_written_; }
  void add_bytes_written(uint64_t n) { bytes_written_ += n; }

 private:
  std::vector<ChangeOp> ops_;
  uint64_t bytes_written_ = 0;
};

}  // namespace snapvol::volume
