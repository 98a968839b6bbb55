#include "driver/store/object_check.h"

#include "driver/core/hash.h"
#include "driver/core/names.h"
#include "driver/core/text.h"

namespace snapvol::store {
namespace {

using core::Status;

constexpr uint32_t kModeBits = 07777;
// Linux's PATH_MAX counts the terminating NUL.
constexpr size_t kMaxSymlinkTarget = 4095;

Status Bad(std::string_view what, const std::string& rule) {
  return Status::Corruption(std::string(what) + ": " + rule);
}

bool IsHash(const std::string& field) { return field.size() == core::Hash::kSize; }

// a + b, or false if it overflows.
bool AddSize(uint64_t* sum, uint64_t n) {
  if (*sum + n < *sum) return false;
  *sum += n;
  return true;
}

Status CheckChunks(const google::protobuf::RepeatedPtrField<objects::ChunkRef>& chunks,
                   uint64_t* total, std::string_view what) {
  *total = 0;
  for (const objects::ChunkRef& r : chunks) {
    if (!r.hash().empty() && !IsHash(r.hash())) return Bad(what, "a chunk reference is malformed");
    if (!AddSize(total, r.size())) return Bad(what, "chunk sizes overflow");
  }
  return Status::Ok();
}

Status CheckContent(const objects::Entry& e, std::string_view what) {
  const objects::Content& c = e.content();
  const int forms = (c.inline_data().empty() ? 0 : 1) + (c.chunks_size() == 0 ? 0 : 1) +
                    (c.index().empty() ? 0 : 1) + (c.has_packed() ? 1 : 0);
  if (forms > 1) return Bad(what, "file content has more than one form");
  if (!c.inline_data().empty() && c.inline_data().size() != e.size()) {
    return Bad(what, "inline content length differs from the file size");
  }
  if (c.chunks_size() > 0) {
    uint64_t total = 0;
    RETURN_IF_ERROR(CheckChunks(c.chunks(), &total, what));
    if (total != e.size()) return Bad(what, "chunk sizes do not add up to the file size");
  }
  if (!c.index().empty() && !IsHash(c.index()))
    return Bad(what, "a file index reference is malformed");
  if (c.has_packed()) {
    const objects::PackSlice& p = c.packed();
    uint64_t end = p.offset();
    if (!IsHash(p.hash())) return Bad(what, "a pack reference is malformed");
    if (!AddSize(&end, p.size()) || end > p.pack_size()) {
      return Bad(what, "a pack slice lies outside its pack");
    }
    if (p.size() != e.size()) return Bad(what, "pack slice length differs from the file size");
  }
  return Status::Ok();
}

}  // namespace

Status CheckEntryName(std::string_view name, std::string_view what) {
  if (Status s = core::ValidateComponent(name); !s.ok()) {
    return Bad(what, "entry name " + core::QuoteBytes(name) + " is invalid (" + s.message() + ")");
  }
  return Status::Ok();
}

Status CheckEntry(const objects::Entry& e, std::string_view what, bool root) {
  if (root) {
    if (!e.name().empty()) return Bad(what, "the root entry has a name");
  } else {
    RETURN_IF_ERROR(CheckEntryName(e.name(), what));
  }
  const std::string where = std::string(what) + " entry " + core::QuoteBytes(e.name());
  if (e.type() < objects::FILE || e.type() > objects::BLOCK_DEVICE) {
    return Bad(where, "unknown type " + std::to_string(e.type()));
  }
  if (root && e.type() != objects::DIRECTORY) return Bad(where, "the root is not a directory");
  if ((e.mode() & ~kModeBits) != 0) return Bad(where, "mode has bits outside 07777");
  const bool file = e.type() == objects::FILE;
  const bool dir = e.type() == objects::DIRECTORY;
  const bool symlink = e.type() == objects::SYMLINK;
  if (!file && e.has_content()) return Bad(where, "only files have content");
  if (file) RETURN_IF_ERROR(CheckContent(e, where));
  if (dir != !e.tree().empty()) return Bad(where, "directories, and only they, have a tree");
  if (dir && !IsHash(e.tree())) return Bad(where, "the tree reference is malformed");
  if (!dir && (e.subtree_inodes() != 0 || e.subtree_bytes() != 0)) {
    return Bad(where, "only directories have subtree totals");
  }
  if (symlink != !e.symlink_target().empty()) {
    return Bad(where, "symlinks, and only they, have a non-empty target");
  }
  if (symlink) {
    const std::string& t = e.symlink_target();
    if (t.size() > kMaxSymlinkTarget || t.find('\0') != std::string::npos) {
      return Bad(where, "the symlink target is too long or holds NUL");
    }
    if (e.size() != t.size()) return Bad(where, "the symlink size differs from its target");
  }
  const bool device = e.type() == objects::CHAR_DEVICE || e.type() == objects::BLOCK_DEVICE;
  if (!device && e.rdev() != 0) return Bad(where, "only devices have a device number");
  const std::string* prev = nullptr;
  for (const objects::Xattr& x : e.xattrs()) {
    if (x.name().empty() || x.name().find('\0') != std::string::npos) {
      return Bad(where, "an xattr name is empty or holds NUL");
    }
    if (prev != nullptr && !(*prev < x.name())) {
      return Bad(where, "xattrs are not sorted by name or repeat one");
    }
    prev = &x.name();
  }
  return Status::Ok();
}

Status CheckTreePage(const objects::TreePage& page, std::string_view what) {
  if (page.level() == 0) {
    if (page.children_size() > 0) return Bad(what, "a leaf page holds child pages");
    const std::string* prev = nullptr;
    for (const objects::Entry& e : page.entries()) {
      RETURN_IF_ERROR(CheckEntry(e, what));
      if (prev != nullptr && !(*prev < e.name())) {
        return Bad(what, "entry " + core::QuoteBytes(e.name()) + " is out of order or repeated");
      }
      prev = &e.name();
    }
    return Status::Ok();
  }
  if (page.entries_size() > 0) return Bad(what, "an interior page holds entries");
  if (page.children_size() == 0) return Bad(what, "an interior page has no children");
  const std::string* prev = nullptr;
  for (const objects::PageRef& r : page.children()) {
    if (!IsHash(r.hash())) return Bad(what, "a child page reference is malformed");
    if (prev != nullptr && !(*prev < r.first_name())) {
      return Bad(what, "child pages are out of order");
    }
    prev = &r.first_name();
  }
  return Status::Ok();
}

Status CheckFileIndex(const objects::FileIndex& index, std::string_view what) {
  uint64_t total = 0;
  return CheckChunks(index.chunks(), &total, what);
}

Status CheckCommit(const objects::Commit& c, std::string_view what) {
  if (c.version() == 0) return Bad(what, "version 0");
  if (c.version() == 1 ? !c.parent().empty() : !IsHash(c.parent())) {
    return Bad(what, "the parent reference does not fit version " + std::to_string(c.version()));
  }
  return CheckEntry(c.root(), what, /*root=*/true);
}

}  // namespace snapvol::store
