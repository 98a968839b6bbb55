// TreeEditor: applies ChangeOps to a root directory and writes the changed
// tree pages. Only directories on changed paths are loaded; within a
// directory only the B+tree pages holding changed names are rewritten, so a
// commit costs O(changes × depth × log(directory size)), independent of the
// volume's size. Subtree totals (inodes, bytes) are maintained on the way up.
// Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "driver/store/object_store.h"
#include "driver/volume/change_set.h"
#include "driver/volume/tree_reader.h"
#include "snapvol_objects.pb.h"

namespace snapvol::volume {

class PageCache;

// B+tree page limits. A leaf splits above kMaxLeafEntries entries or
// kMaxPageBytes encoded bytes; an interior page above kMaxFanout children.
inline constexpr size_t kMaxLeafEntries = 1024;
inline constexpr size_t kMaxPageBytes = 1 << 20;
inline constexpr size_t kMaxFanout = 1024;

struct ApplyStats {
  uint64_t added = 0, modified = 0, deleted = 0, renamed = 0;
  std::vector<std::string> sample;   // "A /path" ...; at most kMaxSample
  std::vector<std::string> skipped;  // Rename/Copy whose source was absent
  static constexpr size_t kMaxSample = 20;
};

class TreeEditor {
 public:
  // `root` is the volume's root directory entry. `now_ns` stamps implicitly
  // created parent directories.
  TreeEditor(store::ObjectStore* objects, objects::Entry root, int64_t now_ns);
  ~TreeEditor();

  // Applies one operation (rules in change_set.h).
  Status Apply(const ChangeOp& op);

  // The entry at `path` including changes applied so far, or nullopt. For a
  // directory with changes pending below it, `tree` and the subtree totals
  // are those before the changes (Finish writes the new ones).
  Result<std::optional<objects::Entry>> Get(const Path& path);

  // Writes every changed page bottom-up and returns the new root entry with
  // its tree and subtree totals updated.
  Result<objects::Entry> Finish();

  const ApplyStats& stats() const { return stats_; }

 private:
  struct Dir;
  Result<Dir*> OpenDir(const Path& path, bool create, bool* created_any);
  Result<Dir*> ChildDir(Dir* parent, const std::string& name, bool create, bool* created);
  Result<std::optional<objects::Entry>> GetIn(Dir* dir, const std::string& name);
  Status SetIn(Dir* dir, const std::string& name, std::optional<objects::Entry> entry);
  Result<objects::Entry> FinishDir(Dir* dir);
  void Note(char kind, const Path& path);

  store::ObjectStore* objects_;
  TreeReader reader_;
  int64_t now_ns_;
  std::unique_ptr<Dir> root_;
  ApplyStats stats_;
  // Decoded pages this editor has read: a bulk change looks up many names
  // in one directory and must not decode its pages once per name.
  std::unique_ptr<PageCache> cache_;
};

// Rewrites the B+tree whose root page is `tree` with `changes` (name ->
// entry, or nullopt to delete) and returns the new root page hash together
// with the directory's totals. Exposed for tests and the mount.
struct TreeTotals {
  uint64_t entries = 0, inodes = 0, bytes = 0;
};
Result<std::pair<Hash, TreeTotals>> UpdateTree(
    store::ObjectStore& objects, const Hash& tree,
    const std::map<std::string, std::optional<objects::Entry>>& changes);

}  // namespace snapvol::volume
