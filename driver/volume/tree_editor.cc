#include "driver/volume/tree_editor.h"

#include <algorithm>
#include <utility>

#include "driver/core/names.h"
#include "driver/store/object_codec.h"
#include "driver/volume/file_writer.h"
#include "driver/volume/inline_pack.h"
#include "driver/volume/page_cache.h"
#include "driver/volume/tree_page.h"

namespace snapvol::volume {
namespace {

using objects::ChunkRef;
using objects::Entry;
using objects::PageRef;
using objects::TreePage;
using Changes = std::map<std::string, std::optional<Entry>>;
using ChangeIt = Changes::const_iterator;

// A page built in memory and not stored yet, with the totals and encoded
// size its parent's PageRef needs.
struct Node {
  TreePage page;
  TreeTotals totals;
  std::string first_name;
  size_t bytes = 0;

  explicit Node(uint32_t level) : bytes(EmptyPageBytes(level)) { page.set_level(level); }
  size_t count() const { return page.level() == 0 ? page.entries_size() : page.children_size(); }

  void Add(Entry e, size_t size) {
    if (count() == 0) first_name = e.name();
    totals.entries += 1;
    totals.inodes += EntryInodes(e);
    totals.bytes += EntryBytes(e);
    bytes += size;
    *page.add_entries() = std::move(e);
  }
  void Add(PageRef r, size_t size) {
    if (count() == 0) first_name = r.first_name();
    totals.entries += r.entries();
    totals.inodes += r.inodes();
    totals.bytes += r.bytes();
    bytes += size;
    *page.add_children() = std::move(r);
  }
};

size_t MaxCount(uint32_t level) { return level == 0 ? kMaxLeafEntries : kMaxFanout; }

// A page is merged with a neighbour once it holds less than a quarter of
// what it may, so deletes do not leave a directory of near-empty pages.
bool Small(const Node& n) {
  return n.count() < MaxCount(n.page.level()) / 4 && n.bytes < kMaxPageBytes / 4;
}

// Cuts sorted items into as few pages of one level as the count and byte
// limits allow, of about equal size: a split page becomes two half-full
// pages, not a full one and a nearly empty one.
template <typename T>
std::vector<Node> Split(std::vector<T>&& items, uint32_t level) {
  std::vector<Node> out;
  if (items.empty()) return out;
  std::vector<size_t> sizes(items.size());
  size_t total = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    sizes[i] = RepeatedFieldBytes(items[i].ByteSizeLong());
    total += sizes[i];
  }
  const size_t n = items.size();
  const size_t room = kMaxPageBytes - EmptyPageBytes(level);
  size_t pages = std::max((n + MaxCount(level) - 1) / MaxCount(level), (total + room - 1) / room);
  pages = std::max<size_t>(pages, 1);
  const size_t target = (n + pages - 1) / pages;
  out.emplace_back(level);
  for (size_t i = 0; i < n; ++i) {
    Node* cur = &out.back();
    if (cur->count() > 0 && (cur->count() >= target || cur->bytes + sizes[i] > kMaxPageBytes)) {
      out.emplace_back(level);
      cur = &out.back();
    }
    cur->Add(std::move(items[i]), sizes[i]);
  }
  return out;
}

TreeTotals TotalsOf(const TreePage& page) {
  TreeTotals t;
  for (const Entry& e : page.entries()) {
    t.entries += 1;
    t.inodes += EntryInodes(e);
    t.bytes += EntryBytes(e);
  }
  for (const PageRef& r : page.children()) {
    t.entries += r.entries();
    t.inodes += r.inodes();
    t.bytes += r.bytes();
  }
  return t;
}

Result<PageRef> Seal(store::ObjectStore& objects, const Node& node) {
  ASSIGN_OR_RETURN(Hash h, store::PutTreePage(objects, node.page));
  PageRef ref;
  ref.set_first_name(node.first_name);
  ref.set_hash(std::string(h.Bytes()));
  ref.set_entries(node.totals.entries);
  ref.set_inodes(node.totals.inodes);
  ref.set_bytes(node.totals.bytes);
  return ref;
}

// The items of one or two same-level pages, in order, re-split.
std::vector<Node> Resplit(std::vector<TreePage*> pages) {
  uint32_t level = pages.front()->level();
  if (level == 0) {
    std::vector<Entry> items;
    for (TreePage* p : pages)
      for (Entry& e : *p->mutable_entries()) items.push_back(std::move(e));
    return Split(std::move(items), level);
  }
  std::vector<PageRef> items;
  for (TreePage* p : pages)
    for (PageRef& r : *p->mutable_children()) items.push_back(std::move(r));
  return Split(std::move(items), level);
}

// One child of an interior page being rewritten: an untouched stored page
// or a rewritten page not stored yet.
struct Slot {
  std::optional<PageRef> ref;
  std::optional<Node> node;
};

Result<TreePage> TakePage(const PageGetter& pages, Slot& s, uint32_t level) {
  if (s.node) return std::move(s.node->page);
  ASSIGN_OR_RETURN(Hash h, store::HashField(s.ref->hash(), "tree page"));
  ASSIGN_OR_RETURN(PagePtr page, pages(h, level));
  return TreePage(*page);
}

Status MergeSmall(const PageGetter& pages, uint32_t level, std::vector<Slot>* slots) {
  size_t i = 0;
  while (i < slots->size() && slots->size() > 1) {
    const Slot& s = (*slots)[i];
    if (!s.node || !Small(*s.node)) {
      ++i;
      continue;
    }
    size_t lo = i + 1 < slots->size() ? i : i - 1;
    ASSIGN_OR_RETURN(TreePage a, TakePage(pages, (*slots)[lo], level));
    ASSIGN_OR_RETURN(TreePage b, TakePage(pages, (*slots)[lo + 1], level));
    std::vector<Node> merged = Resplit({&a, &b});
    slots->erase(slots->begin() + lo, slots->begin() + lo + 2);
    for (size_t k = 0; k < merged.size(); ++k) {
      slots->insert(slots->begin() + lo + k, Slot{std::nullopt, std::move(merged[k])});
    }
    // One merged page that is still small absorbs its next neighbour too;
    // every merge removes a slot, so this ends.
    i = merged.size() == 1 ? lo : lo + merged.size();
  }
  return Status::Ok();
}

// Rewrites `page` with the changes in [b, e) (all of which fall into its key
// range) and returns the pages that replace it at the same level: none if it
// became empty, several if it split.
Result<std::vector<Node>> Rewrite(store::ObjectStore& objects, const PageGetter& pages,
                                  TreePage page, ChangeIt b, ChangeIt e) {
  if (page.level() == 0) {
    auto& old = *page.mutable_entries();
    std::vector<Entry> merged;
    merged.reserve(old.size() + static_cast<size_t>(std::distance(b, e)));
    int i = 0;
    for (ChangeIt c = b; c != e; ++c) {
      while (i < old.size() && old[i].name() < c->first) merged.push_back(std::move(old[i++]));
      if (i < old.size() && old[i].name() == c->first) ++i;
      if (c->second) {
        merged.push_back(*c->second);
        merged.back().set_name(c->first);
      }
    }
    while (i < old.size()) merged.push_back(std::move(old[i++]));
    return Split(std::move(merged), 0);
  }

  const uint32_t child_level = page.level() - 1;
  const int n = page.children_size();
  std::vector<Slot> slots;
  slots.reserve(static_cast<size_t>(n) + 1);
  ChangeIt c = b;
  for (int i = 0; i < n; ++i) {
    // Child i owns [first_name(i), first_name(i+1)); child 0 also owns every
    // name before it.
    ChangeIt stop = c;
    if (i + 1 < n) {
      const std::string& next = page.children(i + 1).first_name();
      while (stop != e && stop->first < next) ++stop;
    } else {
      stop = e;
    }
    if (c == stop) {
      slots.push_back(Slot{std::move(*page.mutable_children(i)), std::nullopt});
      continue;
    }
    ASSIGN_OR_RETURN(Hash h, store::HashField(page.children(i).hash(), "tree page"));
    ASSIGN_OR_RETURN(PagePtr child, pages(h, child_level));
    ASSIGN_OR_RETURN(std::vector<Node> nodes, Rewrite(objects, pages, *child, c, stop));
    for (Node& node : nodes) slots.push_back(Slot{std::nullopt, std::move(node)});
    c = stop;
  }
  RETURN_IF_ERROR(MergeSmall(pages, child_level, &slots));
  std::vector<PageRef> refs;
  refs.reserve(slots.size());
  for (Slot& s : slots) {
    if (s.ref) {
      refs.push_back(std::move(*s.ref));
    } else {
      ASSIGN_OR_RETURN(PageRef r, Seal(objects, *s.node));
      refs.push_back(std::move(r));
    }
  }
  return Split(std::move(refs), page.level());
}

Node NodeOf(TreePage page) {
  Node n(page.level());
  n.totals = TotalsOf(page);
  if (page.level() == 0 && page.entries_size() > 0) n.first_name = page.entries(0).name();
  if (page.level() > 0 && page.children_size() > 0) n.first_name = page.children(0).first_name();
  n.page = std::move(page);
  return n;
}

// Sets a directory entry's tree to `tree`, reading its totals from the root
// page, so a directory Put from outside carries exact totals.
Status AdoptTree(store::ObjectStore& objects, const PageGetter& pages, Entry* dir) {
  Hash tree = EmptyTreeHash();
  if (!dir->tree().empty()) {
    ASSIGN_OR_RETURN(tree, store::HashField(dir->tree(), "directory '" + dir->name() + "'"));
  }
  TreeTotals t;
  if (IsEmptyTree(tree)) {
    ASSIGN_OR_RETURN(tree, TreeReader::EmptyTree(objects));
  } else {
    ASSIGN_OR_RETURN(PagePtr root, pages(tree, -1));
    t = TotalsOf(*root);
  }
  dir->set_tree(std::string(tree.Bytes()));
  dir->set_subtree_inodes(t.inodes);
  dir->set_subtree_bytes(t.bytes);
  return Status::Ok();
}

Result<std::vector<ChunkRef>> ChunksOf(store::ObjectStore& objects, const objects::Content& c) {
  if (!c.index().empty()) {
    ASSIGN_OR_RETURN(Hash h, store::HashField(c.index(), "file content"));
    ASSIGN_OR_RETURN(objects::FileIndex index, store::GetFileIndex(objects, h));
    return std::vector<ChunkRef>(index.chunks().begin(), index.chunks().end());
  }
  return std::vector<ChunkRef>(c.chunks().begin(), c.chunks().end());
}

Status SetChunks(store::ObjectStore& objects, std::vector<ChunkRef> chunks, objects::Content* c) {
  c->Clear();
  if (chunks.size() > kMaxDirectChunks) {
    objects::FileIndex index;
    for (ChunkRef& r : chunks) *index.add_chunks() = std::move(r);
    ASSIGN_OR_RETURN(Hash h, store::PutFileIndex(objects, index));
    c->set_index(std::string(h.Bytes()));
    return Status::Ok();
  }
  for (ChunkRef& r : chunks) *c->add_chunks() = std::move(r);
  return Status::Ok();
}

ChunkRef Hole(uint64_t n) {
  ChunkRef r;
  r.set_size(n);
  return r;
}

Result<ChunkRef> PutChunk(store::ObjectStore& objects, std::string_view data) {
  Hash h = Hash::Of(data);
  RETURN_IF_ERROR(objects.Put(h, store::ObjectKind::kChunk, data));
  ChunkRef r;
  r.set_hash(std::string(h.Bytes()));
  r.set_size(data.size());
  return r;
}

// Truncates or extends (with a hole) a file entry's content to `size`. Only
// a chunk cut in the middle is read and stored again.
Status Resize(store::ObjectStore& objects, Entry* e, uint64_t size) {
  objects::Content* c = e->mutable_content();
  if (c->has_packed()) {
    ASSIGN_OR_RETURN(std::string bytes, ReadPacked(objects, c->packed()));
    c->clear_packed();
    c->set_inline_data(std::move(bytes));
  }
  if (IsInlineContent(*c)) {
    std::string data = c->inline_data();
    if (size <= kInlineLimit) {
      data.resize(size, '\0');
      c->set_inline_data(std::move(data));
    } else {
      std::vector<ChunkRef> chunks;
      if (!data.empty()) {
        ASSIGN_OR_RETURN(ChunkRef r, PutChunk(objects, data));
        chunks.push_back(std::move(r));
      }
      chunks.push_back(Hole(size - data.size()));
      RETURN_IF_ERROR(SetChunks(objects, std::move(chunks), c));
    }
    e->set_size(size);
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(std::vector<ChunkRef> chunks, ChunksOf(objects, *c));
  uint64_t have = 0;
  for (const ChunkRef& r : chunks) have += r.size();
  if (size >= have) {
    if (size > have) chunks.push_back(Hole(size - have));
  } else {
    std::vector<ChunkRef> kept;
    uint64_t off = 0;
    for (ChunkRef& r : chunks) {
      if (off >= size) break;
      uint64_t keep = std::min<uint64_t>(r.size(), size - off);
      if (keep == r.size()) {
        kept.push_back(std::move(r));
      } else if (r.hash().empty()) {
        kept.push_back(Hole(keep));
      } else {
        ASSIGN_OR_RETURN(Hash h, store::HashField(r.hash(), "file content"));
        Result<std::string> got = objects.Get(h, store::ObjectKind::kChunk);
        if (!got.ok()) return store::ReferencedObject(got.status(), h, store::ObjectKind::kChunk);
        std::string data = std::move(*got);
        if (data.size() != r.size()) {
          return Status::Corruption("chunk " + h.Hex() + " has the wrong size");
        }
        data.resize(keep);
        ASSIGN_OR_RETURN(ChunkRef cut, PutChunk(objects, data));
        kept.push_back(std::move(cut));
      }
      off += keep;
    }
    chunks = std::move(kept);
  }
  RETURN_IF_ERROR(SetChunks(objects, std::move(chunks), c));
  e->set_size(size);
  return Status::Ok();
}

bool ApplyAttrs(const AttrChange& a, Entry* e) {
  Entry before = *e;
  if (a.mode) e->set_mode(*a.mode);
  if (a.uid) e->set_uid(*a.uid);
  if (a.gid) e->set_gid(*a.gid);
  if (a.mtime_ns) e->set_mtime_ns(*a.mtime_ns);
  return e->mode() != before.mode() || e->uid() != before.uid() || e->gid() != before.gid() ||
         e->mtime_ns() != before.mtime_ns();
}

bool SameXattrs(const google::protobuf::RepeatedPtrField<objects::Xattr>& a,
                const google::protobuf::RepeatedPtrField<objects::Xattr>& b) {
  if (a.size() != b.size()) return false;
  for (int i = 0; i < a.size(); ++i) {
    if (a[i].name() != b[i].name() || a[i].value() != b[i].value()) return false;
  }
  return true;
}

bool IsPrefix(const Path& a, const Path& b) {
  return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

Path Parent(const Path& p) { return Path(p.begin(), p.end() - 1); }

// UpdateTree reading pages through `pages` (the editor's cache).
Result<std::pair<Hash, TreeTotals>> UpdateTreeWith(store::ObjectStore& objects,
                                                   const PageGetter& pages, const Hash& tree,
                                                   const Changes& changes) {
  TreePage root;
  if (!IsEmptyTree(tree)) {
    ASSIGN_OR_RETURN(PagePtr page, pages(tree, -1));
    root = *page;
  }
  if (changes.empty()) {
    if (IsEmptyTree(tree)) {
      ASSIGN_OR_RETURN(Hash h, TreeReader::EmptyTree(objects));
      return std::make_pair(h, TreeTotals{});
    }
    return std::make_pair(tree, TotalsOf(root));
  }
  uint32_t level = root.level();
  ASSIGN_OR_RETURN(std::vector<Node> nodes,
                   Rewrite(objects, pages, std::move(root), changes.begin(), changes.end()));
  while (nodes.size() > 1) {
    std::vector<PageRef> refs;
    refs.reserve(nodes.size());
    for (const Node& n : nodes) {
      ASSIGN_OR_RETURN(PageRef r, Seal(objects, n));
      refs.push_back(std::move(r));
    }
    nodes = Split(std::move(refs), ++level);
  }
  if (nodes.empty()) {
    ASSIGN_OR_RETURN(Hash h, TreeReader::EmptyTree(objects));
    return std::make_pair(h, TreeTotals{});
  }
  Node top = std::move(nodes.front());
  // A root with one child adds a level and a read to every lookup.
  while (top.page.level() > 0 && top.page.children_size() == 1) {
    ASSIGN_OR_RETURN(Hash h, store::HashField(top.page.children(0).hash(), "tree page"));
    ASSIGN_OR_RETURN(PagePtr child, pages(h, top.page.level() - 1));
    top = NodeOf(*child);
  }
  ASSIGN_OR_RETURN(Hash h, store::PutTreePage(objects, top.page));
  return std::make_pair(h, top.totals);
}

}  // namespace

Result<std::pair<Hash, TreeTotals>> UpdateTree(store::ObjectStore& objects, const Hash& tree,
                                               const Changes& changes) {
  return UpdateTreeWith(objects, DirectPages(objects), tree, changes);
}

// A directory on a changed path. `entry.tree` is its tree before `changes`
// and the changes inside `open` subdirectories; `dirty` says the entry (tree
// or attributes) differs from what the parent's tree holds.
struct TreeEditor::Dir {
  Entry entry;
  std::map<std::string, std::optional<Entry>> changes;  // replaced or deleted children
  std::map<std::string, std::unique_ptr<Dir>> open;     // subdirectories being edited
  bool dirty = false;
};

TreeEditor::TreeEditor(store::ObjectStore* objects, Entry root, int64_t now_ns)
    : objects_(objects),
      reader_(objects),
      now_ns_(now_ns),
      root_(std::make_unique<Dir>()),
      cache_(std::make_unique<PageCache>(objects)) {
  root_->entry = std::move(root);
  root_->entry.clear_name();
}

TreeEditor::~TreeEditor() = default;

void TreeEditor::Note(char kind, const Path& path) {
  switch (kind) {
    case 'A':
      ++stats_.added;
      break;
    case 'M':
      ++stats_.modified;
      break;
    case 'D':
      ++stats_.deleted;
      break;
    default:
      break;
  }
  if (stats_.sample.size() < ApplyStats::kMaxSample) {
    stats_.sample.push_back(std::string(1, kind) + " " + core::JoinVolumePath(path));
  }
}

Result<std::optional<Entry>> TreeEditor::GetIn(Dir* dir, const std::string& name) {
  // An open subdirectory's entry carries its attributes as edited; its tree
  // and totals are those from before the edits below it until FinishDir.
  if (auto it = dir->open.find(name); it != dir->open.end()) {
    return std::optional<Entry>(it->second->entry);
  }
  if (auto it = dir->changes.find(name); it != dir->changes.end()) return it->second;
  ASSIGN_OR_RETURN(Hash tree, TreeOf(dir->entry));
  return LookupInTree(tree, name, cache_->Getter());
}

Status TreeEditor::SetIn(Dir* dir, const std::string& name, std::optional<Entry> entry) {
  if (entry) {
    entry->set_name(name);
    if (entry->type() == objects::DIRECTORY)
      RETURN_IF_ERROR(AdoptTree(*objects_, cache_->Getter(), &*entry));
  }
  dir->open.erase(name);
  dir->changes[name] = std::move(entry);
  dir->dirty = true;
  return Status::Ok();
}

Result<TreeEditor::Dir*> TreeEditor::ChildDir(Dir* parent, const std::string& name, bool create,
                                              bool* created) {
  *created = false;
  if (auto it = parent->open.find(name); it != parent->open.end()) return it->second.get();
  ASSIGN_OR_RETURN(std::optional<Entry> existing, GetIn(parent, name));
  auto dir = std::make_unique<Dir>();
  if (existing && existing->type() == objects::DIRECTORY) {
    dir->entry = std::move(*existing);
    // A directory put by this editor lives on in `dir`, which now carries
    // the change up to the parent.
    if (auto it = parent->changes.find(name); it != parent->changes.end()) {
      parent->changes.erase(it);
      dir->dirty = true;
    }
  } else {
    if (!create) return nullptr;
    dir->entry.set_name(name);
    dir->entry.set_type(objects::DIRECTORY);
    dir->entry.set_mode(0755);
    dir->entry.set_mtime_ns(now_ns_);
    dir->dirty = true;
    parent->changes.erase(name);
    parent->dirty = true;
    *created = true;
  }
  Dir* raw = dir.get();
  parent->open[name] = std::move(dir);
  return raw;
}

Result<TreeEditor::Dir*> TreeEditor::OpenDir(const Path& path, bool create, bool* created_any) {
  Dir* cur = root_.get();
  Path prefix;
  for (const std::string& name : path) {
    prefix.push_back(name);
    bool created = false;
    ASSIGN_OR_RETURN(cur, ChildDir(cur, name, create, &created));
    if (cur == nullptr) return nullptr;
    if (created) {
      if (created_any != nullptr) *created_any = true;
      Note('A', prefix);
    }
  }
  return cur;
}

Result<std::optional<Entry>> TreeEditor::Get(const Path& path) {
  if (path.empty()) return std::optional<Entry>(root_->entry);
  ASSIGN_OR_RETURN(Dir * parent, OpenDir(Parent(path), false, nullptr));
  if (parent == nullptr) return std::optional<Entry>();
  return GetIn(parent, path.back());
}

Result<Entry> TreeEditor::FinishDir(Dir* dir) {
  for (auto& [name, child] : dir->open) {
    ASSIGN_OR_RETURN(Entry e, FinishDir(child.get()));
    if (child->dirty) {
      dir->changes[name] = std::move(e);
      dir->dirty = true;
    }
  }
  dir->open.clear();
  if (!dir->changes.empty() || dir->entry.tree().empty()) {
    Hash tree;  // zero: a directory created by this editor
    if (!dir->entry.tree().empty()) {
      ASSIGN_OR_RETURN(tree, TreeOf(dir->entry));
    }
    RETURN_IF_ERROR(PackInline(*objects_, &dir->changes));
    ASSIGN_OR_RETURN(auto updated, UpdateTreeWith(*objects_, cache_->Getter(), tree, dir->changes));
    dir->entry.set_tree(std::string(updated.first.Bytes()));
    dir->entry.set_subtree_inodes(updated.second.inodes);
    dir->entry.set_subtree_bytes(updated.second.bytes);
    dir->changes.clear();
    dir->dirty = true;
  }
  return dir->entry;
}

Status TreeEditor::Apply(const ChangeOp& op) {
  using Kind = ChangeOp::Kind;
  for (const std::string& c : op.path) RETURN_IF_ERROR(core::ValidateComponent(c));
  for (const std::string& c : op.to) RETURN_IF_ERROR(core::ValidateComponent(c));
  // The root always exists: SetAttr changes its attributes and Mkdir its
  // attributes and (set_xattrs) xattrs, as for any existing directory.
  if (op.kind != Kind::kSetAttr && op.kind != Kind::kMkdir && op.path.empty()) {
    return Status::InvalidArgument("the volume root cannot be the target of this operation");
  }

  switch (op.kind) {
    case Kind::kPut: {
      ASSIGN_OR_RETURN(Dir * parent, OpenDir(Parent(op.path), true, nullptr));
      ASSIGN_OR_RETURN(std::optional<Entry> old, GetIn(parent, op.path.back()));
      RETURN_IF_ERROR(SetIn(parent, op.path.back(), op.entry));
      Note(old ? 'M' : 'A', op.path);
      return Status::Ok();
    }

    case Kind::kMkdir: {
      // An existing directory (the root always exists): its attributes,
      // and its xattrs when asked.
      auto update = [&](Dir* dir) {
        AttrChange a{op.entry.mode(), op.entry.uid(), op.entry.gid(), op.entry.mtime_ns(), {}};
        bool changed = ApplyAttrs(a, &dir->entry);
        if (op.set_xattrs && !SameXattrs(dir->entry.xattrs(), op.entry.xattrs())) {
          *dir->entry.mutable_xattrs() = op.entry.xattrs();
          changed = true;
        }
        if (changed) {
          dir->dirty = true;
          Note('M', op.path);
        }
        return Status::Ok();
      };
      if (op.path.empty()) return update(root_.get());
      ASSIGN_OR_RETURN(Dir * parent, OpenDir(Parent(op.path), true, nullptr));
      ASSIGN_OR_RETURN(std::optional<Entry> old, GetIn(parent, op.path.back()));
      if (old && old->type() == objects::DIRECTORY) {
        bool created = false;
        ASSIGN_OR_RETURN(Dir * dir, ChildDir(parent, op.path.back(), false, &created));
        return update(dir);
      }
      Entry e;
      e.set_type(objects::DIRECTORY);
      e.set_mode(op.entry.mode());
      e.set_uid(op.entry.uid());
      e.set_gid(op.entry.gid());
      e.set_mtime_ns(op.entry.mtime_ns());
      *e.mutable_xattrs() = op.entry.xattrs();
      RETURN_IF_ERROR(SetIn(parent, op.path.back(), std::move(e)));
      Note(old ? 'M' : 'A', op.path);
      return Status::Ok();
    }

    case Kind::kDelete: {
      ASSIGN_OR_RETURN(Dir * parent, OpenDir(Parent(op.path), false, nullptr));
      if (parent == nullptr) return Status::Ok();
      ASSIGN_OR_RETURN(std::optional<Entry> old, GetIn(parent, op.path.back()));
      if (!old) return Status::Ok();
      RETURN_IF_ERROR(SetIn(parent, op.path.back(), std::nullopt));
      Note('D', op.path);
      return Status::Ok();
    }

    case Kind::kSetAttr: {
      if (op.path.empty()) {
        if (ApplyAttrs(op.attrs, &root_->entry)) {
          root_->dirty = true;
          Note('M', op.path);
        }
        return Status::Ok();
      }
      ASSIGN_OR_RETURN(Dir * parent, OpenDir(Parent(op.path), false, nullptr));
      if (parent == nullptr) return Status::Ok();
      ASSIGN_OR_RETURN(std::optional<Entry> old, GetIn(parent, op.path.back()));
      if (!old) return Status::Ok();
      if (old->type() == objects::DIRECTORY) {
        bool created = false;
        ASSIGN_OR_RETURN(Dir * dir, ChildDir(parent, op.path.back(), false, &created));
        if (ApplyAttrs(op.attrs, &dir->entry)) {
          dir->dirty = true;
          Note('M', op.path);
        }
        return Status::Ok();
      }
      Entry e = *old;
      bool changed = ApplyAttrs(op.attrs, &e);
      if (op.attrs.size && e.type() == objects::FILE && *op.attrs.size != e.size()) {
        RETURN_IF_ERROR(Resize(*objects_, &e, *op.attrs.size));
        changed = true;
      }
      if (!changed) return Status::Ok();
      RETURN_IF_ERROR(SetIn(parent, op.path.back(), std::move(e)));
      Note('M', op.path);
      return Status::Ok();
    }

    case Kind::kRename:
    case Kind::kCopy: {
      if (op.to.empty()) {
        return Status::InvalidArgument("the volume root cannot be the target of this operation");
      }
      if (IsPrefix(op.path, op.to)) {
        return Status::InvalidArgument("cannot move or copy '" + core::JoinVolumePath(op.path) +
                                       "' into itself");
      }
      ASSIGN_OR_RETURN(Dir * src, OpenDir(Parent(op.path), false, nullptr));
      std::optional<Entry> entry;
      if (src != nullptr) {
        if (auto it = src->open.find(op.path.back()); it != src->open.end()) {
          // The subtree moves as one reference: write its pending pages once
          // so the reference is complete.
          ASSIGN_OR_RETURN(entry, FinishDir(it->second.get()));
        } else {
          ASSIGN_OR_RETURN(entry, GetIn(src, op.path.back()));
        }
      }
      if (!entry) {
        stats_.skipped.push_back(core::JoinVolumePath(op.path));
        return Status::Ok();
      }
      if (op.kind == Kind::kRename) {
        RETURN_IF_ERROR(SetIn(src, op.path.back(), std::nullopt));
      }
      ASSIGN_OR_RETURN(Dir * dst, OpenDir(Parent(op.to), true, nullptr));
      ASSIGN_OR_RETURN(std::optional<Entry> old, GetIn(dst, op.to.back()));
      RETURN_IF_ERROR(SetIn(dst, op.to.back(), std::move(entry)));
      if (op.kind == Kind::kCopy) {
        Note(old ? 'M' : 'A', op.to);
        return Status::Ok();
      }
      ++stats_.renamed;
      if (stats_.sample.size() < ApplyStats::kMaxSample) {
        stats_.sample.push_back("R " + core::JoinVolumePath(op.path) + " -> " +
                                core::JoinVolumePath(op.to));
      }
      return Status::Ok();
    }
  }
  return Status::InvalidArgument("unknown change operation");
}

Result<Entry> TreeEditor::Finish() { return FinishDir(root_.get()); }

}  // namespace snapvol::volume
