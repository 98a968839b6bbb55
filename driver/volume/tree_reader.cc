#include "driver/volume/tree_reader.h"

#include <algorithm>

#include "driver/store/object_codec.h"
#include "driver/volume/tree_page.h"

namespace snapvol::volume {
namespace {

using objects::Entry;
using objects::PageRef;
using objects::TreePage;

Status ListFrom(store::ObjectStore& objects, const TreePage& page, const std::string& after,
                size_t limit, std::vector<Entry>* out) {
  if (page.level() == 0) {
    auto it = std::upper_bound(page.entries().begin(), page.entries().end(), after,
                               [](const std::string& n, const Entry& e) { return n < e.name(); });
    for (; it != page.entries().end(); ++it) {
      if (limit != 0 && out->size() >= limit) break;
      out->push_back(*it);
    }
    return Status::Ok();
  }
  int start = std::max(ChildFor(page, after), 0);
  for (int i = start; i < page.children_size(); ++i) {
    if (limit != 0 && out->size() >= limit) break;
    ASSIGN_OR_RETURN(Hash h, store::HashField(page.children(i).hash(), "tree page"));
    ASSIGN_OR_RETURN(TreePage child, LoadTreePage(objects, h, page.level() - 1));
    RETURN_IF_ERROR(ListFrom(objects, child, after, limit, out));
  }
  return Status::Ok();
}

Status ForEachIn(store::ObjectStore& objects, const TreePage& page,
                 const std::function<Status(const Entry&)>& fn) {
  if (page.level() == 0) {
    for (const Entry& e : page.entries()) RETURN_IF_ERROR(fn(e));
    return Status::Ok();
  }
  for (const PageRef& ref : page.children()) {
    ASSIGN_OR_RETURN(Hash h, store::HashField(ref.hash(), "tree page"));
    ASSIGN_OR_RETURN(TreePage child, LoadTreePage(objects, h, page.level() - 1));
    RETURN_IF_ERROR(ForEachIn(objects, child, fn));
  }
  return Status::Ok();
}

}  // namespace

Result<Hash> TreeOf(const Entry& dir) {
  if (dir.type() != objects::DIRECTORY) {
    return Status::Corruption("entry '" + dir.name() + "' is not a directory");
  }
  if (dir.tree().empty()) return EmptyTreeHash();
  return store::HashField(dir.tree(), "directory '" + dir.name() + "'");
}

Result<std::optional<Entry>> TreeReader::Lookup(const Hash& tree, const std::string& name) const {
  return LookupInTree(tree, name, DirectPages(*objects_));
}

Result<std::optional<Entry>> TreeReader::Resolve(const Entry& root,
                                                 const std::vector<std::string>& path) const {
  Entry cur = root;
  for (const std::string& name : path) {
    if (cur.type() != objects::DIRECTORY) return std::optional<Entry>();
    ASSIGN_OR_RETURN(Hash tree, TreeOf(cur));
    ASSIGN_OR_RETURN(std::optional<Entry> next, Lookup(tree, name));
    if (!next) return std::optional<Entry>();
    cur = std::move(*next);
  }
  return std::optional<Entry>(std::move(cur));
}

Result<std::vector<Entry>> TreeReader::List(const Hash& tree, const std::string& after,
                                            size_t limit) const {
  std::vector<Entry> out;
  if (IsEmptyTree(tree)) return out;
  ASSIGN_OR_RETURN(TreePage page, LoadTreePage(*objects_, tree, -1));
  RETURN_IF_ERROR(ListFrom(*objects_, page, after, limit, &out));
  return out;
}

Status TreeReader::ForEach(const Hash& tree, const std::function<Status(const Entry&)>& fn) const {
  if (IsEmptyTree(tree)) return Status::Ok();
  ASSIGN_OR_RETURN(TreePage page, LoadTreePage(*objects_, tree, -1));
  return ForEachIn(*objects_, page, fn);
}

Result<Hash> TreeReader::EmptyTree(store::ObjectStore& objects) {
  return store::PutTreePage(objects, TreePage());
}

}  // namespace snapvol::volume
