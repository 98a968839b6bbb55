#include "driver/volume/fsck.h"

#include <algorithm>
#include <map>
#include <set>

#include "driver/core/names.h"
#include "driver/core/text.h"
#include "driver/store/object_codec.h"
#include "driver/volume/tree_page.h"
#include "driver/volume/tree_reader.h"

namespace snapvol::volume {
namespace {

using core::Hash;
using core::Status;

struct Totals {
  uint64_t entries = 0, inodes = 0, bytes = 0;
};

class Checker {
 public:
  Checker(store::Store& store, const FsckOptions& options, FsckReport* report)
      : store_(store), options_(options), report_(report) {}

  void Volume(const store::VolumeRecord& v) {
    const std::string name =
        "volume '" + v.name + "' in environment '" + v.environment + "' (" + v.id + ")";
    Result<std::vector<store::VersionRecord>> versions = store_.catalog->ListVersions(v.id, 1, 0);
    if (!versions.ok()) return Problem(name, versions.status().ToString());
    Hash parent;
    uint64_t expect = 1;
    for (const store::VersionRecord& rec : *versions) {
      ++report_->versions;
      const std::string where = name + ", version " + std::to_string(rec.version);
      if (rec.version != expect) {
        Problem(where, "the version log skips from " + std::to_string(expect - 1) + " to " +
                           std::to_string(rec.version));
      }
      expect = rec.version + 1;
      Commit(where, v, rec, parent);
      parent = rec.commit;
    }
  }

 private:
  void Problem(const std::string& where, const std::string& what) {
    report_->problems.push_back({core::EscapeBytes(where), core::EscapeBytes(what)});
  }

  void Commit(const std::string& where, const store::VolumeRecord& v,
              const store::VersionRecord& rec, const Hash& parent) {
    Result<objects::Commit> c = store::GetCommit(*store_.objects, rec.commit);
    if (!c.ok()) return Problem(where, c.status().message());
    if (c->volume_id() != v.id) Problem(where, "the commit names volume " + c->volume_id());
    if (c->version() != rec.version) {
      Problem(where, "the commit says version " + std::to_string(c->version()));
    }
    const std::string want_parent = rec.version == 1 ? "" : std::string(parent.Bytes());
    if (c->parent() != want_parent)
      Problem(where, "the commit's parent is not the previous version");
    Totals t;
    if (!Directory(where + ", /", c->root(), &t)) return;
    if (c->inodes() != t.inodes + 1 || c->bytes() != t.bytes) {
      Problem(where, "the commit counts " + std::to_string(c->inodes()) + " inodes and " +
                         std::to_string(c->bytes()) + " bytes; the tree holds " +
                         std::to_string(t.inodes + 1) + " and " + std::to_string(t.bytes));
    }
  }

  // Checks directory entry `dir`'s tree; its totals in *t. False if the
  // tree could not be walked (a problem was recorded).
  bool Directory(const std::string& path, const objects::Entry& dir, Totals* t) {
    Result<Hash> tree = TreeOf(dir);
    if (!tree.ok()) {
      Problem(path, tree.status().message());
      return false;
    }
    if (!Page(path, *tree, -1, t)) return false;
    if (dir.subtree_inodes() != t->inodes || dir.subtree_bytes() != t->bytes) {
      Problem(path, "the directory counts " + std::to_string(dir.subtree_inodes()) +
                        " inodes and " + std::to_string(dir.subtree_bytes()) +
                        " bytes below it; its tree holds " + std::to_string(t->inodes) + " and " +
                        std::to_string(t->bytes));
    }
    return true;
  }

  // Page `h` at `level` (< 0: a directory's top page, any level). Pages are
  // content-addressed: one checked under any path is good everywhere.
  bool Page(const std::string& path, const Hash& h, int64_t level, Totals* t) {
    if (IsEmptyTree(h)) return true;
    if (auto it = pages_.find(h); it != pages_.end()) {
      if (!it->second.ok) return false;  // its problem is recorded (or it is a cycle)
      *t = it->second.totals;
      if (level >= 0 && it->second.level != level) {
        Problem(path, "tree page " + h.Hex() + " is referenced at level " + std::to_string(level) +
                          " but has level " + std::to_string(it->second.level));
        return false;
      }
      return true;
    }
    PageResult& r = pages_[h];
    ++report_->pages;
    Result<objects::TreePage> page = LoadTreePage(*store_.objects, h, level);
    if (!page.ok()) {
      Problem(path, page.status().message());
      return false;
    }
    r.level = page->level();
    if (page->entries_size() > 0) {
      r.lo = page->entries(0).name();
      r.hi = page->entries(page->entries_size() - 1).name();
    } else if (page->children_size() > 0) {
      r.lo = page->children(0).first_name();
      r.hi = page->children(page->children_size() - 1).first_name();
    }
    bool ok = true;
    for (const objects::Entry& e : page->entries()) {
      ok = Entry(path, e) && ok;
      t->entries += 1;
      t->inodes += EntryInodes(e);
      t->bytes += EntryBytes(e);
    }
    for (int i = 0; i < page->children_size(); ++i) {
      const objects::PageRef& ref = page->children(i);
      Result<Hash> child = store::HashField(ref.hash(), "tree page");
      Totals ct;
      if (!child.ok() || !Page(path, *child, page->level() - 1, &ct)) {
        ok = false;
        continue;
      }
      if (ct.entries != ref.entries() || ct.inodes != ref.inodes() || ct.bytes != ref.bytes()) {
        Problem(path, "tree page " + h.Hex() + " counts its child " + child->Hex() +
                          " wrong (entries, inodes or bytes)");
        ok = false;
      }
      const std::string* next =
          i + 1 < page->children_size() ? &page->children(i + 1).first_name() : nullptr;
      if (!ChildInRange(*child, ref.first_name(), next)) {
        Problem(path, "tree page " + child->Hex() + " holds names outside its key range");
        ok = false;
      }
      t->entries += ct.entries;
      t->inodes += ct.inodes;
      t->bytes += ct.bytes;
    }
    r.ok = ok;
    r.totals = *t;
    return ok;
  }

  // Whether the first and last keys of checked page `h` lie in [first,
  // *next) (next null: no upper bound); an empty page has none.
  bool ChildInRange(const Hash& h, const std::string& first, const std::string* next) const {
    const PageResult& r = pages_.at(h);
    if (r.lo.empty() && r.hi.empty()) return true;
    return r.lo == first && (next == nullptr || r.hi < *next);
  }

  bool Entry(const std::string& dir_path, const objects::Entry& e) {
    const std::string path = dir_path + (dir_path.back() == '/' ? "" : "/") + e.name();
    switch (e.type()) {
      case objects::DIRECTORY: {
        Totals t;
        return Directory(path, e, &t);
      }
      case objects::FILE:
        return File(path, e);
      default:
        return true;
    }
  }

  bool File(const std::string& path, const objects::Entry& e) {
    const objects::Content& c = e.content();
    if (c.has_packed()) {
      Result<Hash> pack = store::HashField(c.packed().hash(), "pack");
      return pack.ok() && Chunk(path, *pack, c.packed().pack_size());
    }
    const google::protobuf::RepeatedPtrField<objects::ChunkRef>* refs = &c.chunks();
    objects::FileIndex index;
    if (!c.index().empty()) {
      Result<Hash> h = store::HashField(c.index(), "file index");
      if (!h.ok()) return false;
      if (indexes_.insert(*h).second) ++report_->files;
      Result<objects::FileIndex> got = store::GetFileIndex(*store_.objects, *h);
      if (!got.ok()) {
        Problem(path, got.status().message());
        return false;
      }
      index = std::move(got).value();
      refs = &index.chunks();
      uint64_t sum = 0;
      for (const objects::ChunkRef& r : *refs) sum += r.size();
      if (sum != e.size()) {
        Problem(path, "the file index holds " + std::to_string(sum) + " bytes; the file has " +
                          std::to_string(e.size()));
        return false;
      }
    }
    bool ok = true;
    for (const objects::ChunkRef& r : *refs) {
      if (r.hash().empty()) continue;  // a hole
      Result<Hash> h = store::HashField(r.hash(), "chunk");
      ok = h.ok() && Chunk(path, *h, r.size()) && ok;
    }
    return ok;
  }

  bool Chunk(const std::string& path, const Hash& h, uint64_t size) {
    auto [it, fresh] = chunks_.emplace(h, 0);
    if (!fresh) {
      if (it->second == kBad) return false;
      if (it->second != size) {
        Problem(path, "chunk " + h.Hex() + " is " + std::to_string(it->second) +
                          " bytes; this file expects " + std::to_string(size));
        return false;
      }
      return true;
    }
    ++report_->chunks;
    uint64_t got = kBad;
    if (options_.quick) {
      Result<bool> present = store_.objects->Contains(h, store::ObjectKind::kChunk);
      if (!present.ok() || !*present) {
        Problem(path, "chunk " + h.Hex() + " is missing from the store");
      } else {
        got = size;  // not read: trust the reference's size
      }
    } else {
      Result<std::string> bytes = store_.objects->Get(h, store::ObjectKind::kChunk);
      if (!bytes.ok()) {
        Problem(path,
                store::ReferencedObject(bytes.status(), h, store::ObjectKind::kChunk).message());
      } else {
        got = bytes->size();
        report_->chunk_bytes += got;
      }
    }
    it->second = got;
    if (got == kBad) return false;
    if (got != size) {
      Problem(path, "chunk " + h.Hex() + " is " + std::to_string(got) +
                        " bytes; its reference says " + std::to_string(size));
      return false;
    }
    return true;
  }

  struct PageResult {
    bool ok = false;
    uint32_t level = 0;
    Totals totals;
    std::string lo, hi;  // its first and last key (entry name or child first name)
  };
  static constexpr uint64_t kBad = ~uint64_t{0};

  store::Store& store_;
  const FsckOptions& options_;
  FsckReport* report_;
  std::map<Hash, PageResult> pages_;
  std::map<Hash, uint64_t> chunks_;  // size read (kBad: missing or corrupt)
  std::set<Hash> indexes_;
};

}  // namespace

core::Result<FsckReport> Fsck(store::Store& store, const FsckOptions& options) {
  FsckReport report;
  Checker checker(store, options, &report);
  ASSIGN_OR_RETURN(std::vector<store::EnvironmentRecord> envs, store.catalog->ListEnvironments());
  for (const store::EnvironmentRecord& env : envs) {
    ++report.environments;
    ASSIGN_OR_RETURN(std::vector<store::VolumeRecord> volumes,
                     store.catalog->ListVolumes(env.name));
    for (const store::VolumeRecord& v : volumes) {
      ++report.volumes;
      checker.Volume(v);
    }
  }
  return report;
}

core::Result<RebuildReport> RebuildCatalog(store::Store& store, int64_t now_ns) {
  ASSIGN_OR_RETURN(std::vector<store::EnvironmentRecord> envs, store.catalog->ListEnvironments());
  for (const store::EnvironmentRecord& env : envs) {
    ASSIGN_OR_RETURN(std::vector<store::VolumeRecord> volumes,
                     store.catalog->ListVolumes(env.name));
    if (!volumes.empty()) {
      return Status::FailedPrecondition("the catalog still lists volumes (environment '" +
                                        env.name +
                                        "'); --repair only rebuilds a missing or empty catalog");
    }
  }
  RebuildReport report;
  // volume id -> version -> candidate commits (hash, commit)
  std::map<std::string, std::map<uint64_t, std::vector<std::pair<Hash, objects::Commit>>>> found;
  RETURN_IF_ERROR(store.objects->ForEach(store::ObjectKind::kCommit, [&](const Hash& h) {
    ++report.objects;
    Result<std::string> bytes = store.objects->Get(h, store::ObjectKind::kCommit);
    if (!bytes.ok()) return Status::Ok();  // damaged: fsck reports it later
    Result<objects::Commit> c = store::DecodeCommit(*bytes, h);
    if (!c.ok()) return Status::Ok();  // not a commit
    ++report.commits;
    found[c->volume_id()][c->version()].emplace_back(h, std::move(*c));
    return Status::Ok();
  }));
  for (auto& [id, versions] : found) {
    auto& heads = versions.rbegin()->second;
    std::sort(heads.begin(), heads.end(),
              [](const auto& a, const auto& b) { return a.second.time_ns() > b.second.time_ns(); });
    RebuildReport::Volume v;
    v.id = id;
    for (size_t i = 1; i < heads.size(); ++i) v.other_heads.push_back(heads[i].first.Hex());
    // Down from the head by parent links.
    std::vector<std::pair<Hash, const objects::Commit*>> chain;
    const std::pair<Hash, objects::Commit>* at = &heads[0];
    while (at != nullptr) {
      chain.emplace_back(at->first, &at->second);
      const uint64_t version = at->second.version();
      if (version <= 1) break;
      const std::string& parent = at->second.parent();
      at = nullptr;
      auto below = versions.find(version - 1);
      if (below == versions.end()) break;
      for (const auto& cand : below->second) {
        if (std::string(cand.first.Bytes()) == parent) at = &cand;
      }
    }
    std::reverse(chain.begin(), chain.end());
    if (chain.front().second->version() != 1) continue;  // no way back to version 1
    const objects::Commit& newest = *chain.back().second;
    v.named = !newest.environment().empty() && !newest.volume_name().empty() &&
              core::ValidateName("environment", newest.environment()).ok() &&
              core::ValidateName("volume", newest.volume_name()).ok();
    v.environment = v.named ? newest.environment() : "main";
    v.name = v.named ? newest.volume_name() : "recovered-" + id.substr(0, 8);
    Status env = store.catalog->CreateEnvironment(v.environment, now_ns);
    if (!env.ok() && !env.Is(core::Code::kAlreadyExists)) return env;
    store::VolumeRecord record;
    record.environment = v.environment;
    record.name = v.name;
    record.id = id;
    record.created_ns = chain.front().second->time_ns();
    Status created = store.catalog->CreateVolume(record);
    if (created.Is(core::Code::kAlreadyExists)) {
      // Another id had this name (deleted and re-created): keep both.
      v.name = record.name =
          (v.name.size() > 54 ? v.name.substr(0, 54) : v.name) + "-" + id.substr(0, 8);
      created = store.catalog->CreateVolume(record);
    }
    RETURN_IF_ERROR(created);
    for (const auto& [hash, commit] : chain) {
      store::VersionRecord rec;
      rec.version = commit->version();
      rec.commit = hash;
      rec.time_ns = commit->time_ns();
      ASSIGN_OR_RETURN(bool appended, store.catalog->AppendVersion(id, rec));
      if (!appended)
        return Status::Internal("version " + std::to_string(rec.version) + " of " + id);
    }
    v.versions = chain.size();
    report.volumes.push_back(std::move(v));
  }
  return report;
}

}  // namespace snapvol::volume
