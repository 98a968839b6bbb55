#include "driver/volume/change_set.h"

#include "driver/core/names.h"

namespace snapvol::volume {
namespace {

Result<Path> Split(std::string_view path, bool allow_root) {
  ASSIGN_OR_RETURN(Path p, core::SplitVolumePath(path));
  if (p.empty() && !allow_root) {
    return Status::InvalidArgument("the volume root cannot be the target of this operation");
  }
  return p;
}

bool IsPrefix(const Path& a, const Path& b) {
  if (a.size() > b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

}  // namespace

Status ChangeSet::Put(std::string_view path, objects::Entry entry) {
  ASSIGN_OR_RETURN(Path p, Split(path, false));
  ChangeOp op{ChangeOp::Kind::kPut, std::move(p), {}, std::move(entry), {}};
  ops_.push_back(std::move(op));
  return Status::Ok();
}

Status ChangeSet::Mkdir(std::string_view path, uint32_t mode, uint32_t uid, uint32_t gid,
                        int64_t mtime_ns) {
  ASSIGN_OR_RETURN(Path p, Split(path, false));
  objects::Entry e;
  e.set_type(objects::DIRECTORY);
  e.set_mode(mode);
  e.set_uid(uid);
  e.set_gid(gid);
  e.set_mtime_ns(mtime_ns);
  ops_.push_back(ChangeOp{ChangeOp::Kind::kMkdir, std::move(p), {}, std::move(e), {}});
  return Status::Ok();
}

Status ChangeSet::Delete(std::string_view path) {
  ASSIGN_OR_RETURN(Path p, Split(path, false));
  ops_.push_back(ChangeOp{ChangeOp::Kind::kDelete, std::move(p), {}, {}, {}});
  return Status::Ok();
}

Status ChangeSet::SetAttr(std::string_view path, AttrChange attrs) {
  ASSIGN_OR_RETURN(Path p, Split(path, true));
  ops_.push_back(ChangeOp{ChangeOp::Kind::kSetAttr, std::move(p), {}, {}, attrs});
  return Status::Ok();
}

Status ChangeSet::Rename(std::string_view from, std::string_view to) {
  ASSIGN_OR_RETURN(Path f, Split(from, false));
  ASSIGN_OR_RETURN(Path t, Split(to, false));
  if (IsPrefix(f, t)) {
    return Status::InvalidArgument("cannot move '" + std::string(from) + "' into itself ('" +
                                   std::string(to) + "')");
  }
  ops_.push_back(ChangeOp{ChangeOp::Kind::kRename, std::move(f), std::move(t), {}, {}});
  return Status::Ok();
}

Status ChangeSet::Copy(std::string_view from, std::string_view to) {
  ASSIGN_OR_RETURN(Path f, Split(from, false));
  ASSIGN_OR_RETURN(Path t, Split(to, false));
  if (IsPrefix(f, t)) {
    return Status::InvalidArgument("cannot copy '" + std::string(from) + "' into itself ('" +
                                   std::string(to) + "')");
  }
  ops_.push_back(ChangeOp{ChangeOp::Kind::kCopy, std::move(f), std::move(t), {}, {}});
  return Status::Ok();
}

}  // namespace snapvol::volume
