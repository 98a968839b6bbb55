#include "driver/fs/journal_writer.h"

#include <utility>

namespace snapvol::fs {
namespace {

void SetPath(const volume::Path& path, mount::JournalRecord* rec) {
  for (const std::string& c : path) rec->add_path(c);
}

// Every path of the node: the empty path for the root, else one per name.
std::vector<volume::Path> PathsOf(const Node* n) {
  std::vector<volume::Path> paths;
  if (n->ino == kRootIno) {
    paths.emplace_back();
    return paths;
  }
  if (n->parent != nullptr) paths.push_back(ChildPath(n->parent, n->name));
  for (const auto& [dir, name] : n->more_names) paths.push_back(ChildPath(dir, name));
  return paths;
}

}  // namespace

Status JournalWriter::Append(mount::JournalRecord rec) {
  if (journal_ == nullptr) return Status::Ok();
  return journal_->Append(rec);
}

Status JournalWriter::PutAt(const volume::Path& path, const Node* n) {
  if (journal_ == nullptr) return Status::Ok();
  mount::JournalRecord rec;
  SetPath(path, &rec);
  objects::Entry e = EntryOf(n);
  if (n->is_dir()) {
    // Its own attributes and xattrs only, never its tree: replayed as a
    // PUT, a tree would replace the directory, undoing the changes below
    // it recorded before and what other mounts committed there since.
    rec.set_op(mount::JournalRecord::MKDIR);
    e.clear_tree();
    e.set_subtree_inodes(0);
    e.set_subtree_bytes(0);
    rec.set_xattrs(n->xattrs_changed && n->entry != nullptr);
  } else {
    rec.set_op(mount::JournalRecord::PUT);
    if (n->upper != nullptr) {
      rec.set_upper(n->upper->id());
      e.clear_content();
    }
  }
  *rec.mutable_entry() = std::move(e);
  return journal_->Append(rec);
}

Status JournalWriter::Put(const Node* n) {
  if (journal_ == nullptr) return Status::Ok();
  for (const volume::Path& p : PathsOf(n)) RETURN_IF_ERROR(PutAt(p, n));
  return Status::Ok();
}

Status JournalWriter::Record(Node* n) {
  RETURN_IF_ERROR(Put(n));
  if (journal_ != nullptr) n->journaled_gen = journal_->gen();
  return Status::Ok();
}

Status JournalWriter::RecordOnce(Node* n) {
  if (journal_ == nullptr || n->journaled_gen == journal_->gen()) return Status::Ok();
  return Record(n);
}

Status JournalWriter::Delete(const volume::Path& path) {
  mount::JournalRecord rec;
  rec.set_op(mount::JournalRecord::DELETE);
  SetPath(path, &rec);
  return Append(std::move(rec));
}

Status JournalWriter::Rename(const volume::Path& from, const volume::Path& to) {
  mount::JournalRecord rec;
  rec.set_op(mount::JournalRecord::RENAME);
  SetPath(from, &rec);
  for (const std::string& c : to) rec.add_to(c);
  return Append(std::move(rec));
}

Status JournalWriter::SetAttr(const Node* n, const mount::JournalRecord& attrs) {
  if (journal_ == nullptr) return Status::Ok();
  for (const volume::Path& p : PathsOf(n)) {
    mount::JournalRecord rec = attrs;
    rec.set_op(mount::JournalRecord::SETATTR);
    rec.clear_path();
    SetPath(p, &rec);
    RETURN_IF_ERROR(Append(std::move(rec)));
  }
  return Status::Ok();
}

Status JournalWriter::Sync() {
  if (journal_ == nullptr) return Status::Ok();
  return journal_->Sync();
}

}  // namespace snapvol::fs
