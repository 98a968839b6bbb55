// TreeReader: read access to directory trees (B+trees of TreePage objects).
// Lookup costs O(log n) page reads in the directory's size; nothing is read
// until asked for (attach reads only the root). Thread-safe; holds no cache
// (the object store or a cache wrapper in front of it caches pages).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "driver/core/hash.h"
#include "driver/core/result.h"
#include "driver/store/object_store.h"
#include "snapvol_objects.pb.h"

namespace snapvol::volume {

using core::Hash;
using core::Result;
using core::Status;

class TreeReader {
 public:
  explicit TreeReader(store::ObjectStore* objects) : objects_(objects) {}

  // The entry named `name` in directory tree `tree`, or nullopt.
  Result<std::optional<objects::Entry>> Lookup(const Hash& tree, const std::string& name) const;

  // Walks `path` from the directory entry `root`. nullopt if any component is
  // missing or an ancestor is not a directory. The root itself for an empty path.
  Result<std::optional<objects::Entry>> Resolve(const objects::Entry& root,
                                                const std::vector<std::string>& path) const;

  // Up to `limit` entries (0 = all) with names > `after` (bytewise), sorted.
  Result<std::vector<objects::Entry>> List(const Hash& tree, const std::string& after,
                                           size_t limit) const;

  // Calls `fn` for every entry of the directory in name order; stops at the
  // first non-ok Status and returns it.
  Status ForEach(const Hash& tree, const std::function<Status(const objects::Entry&)>& fn) const;

  // Hash of the tree of an empty directory (an empty leaf page). Stores it.
  static Result<Hash> EmptyTree(store::ObjectStore& objects);

  store::ObjectStore* objects() const { return objects_; }

 private:
  store::ObjectStore* objects_;
};

// Directory entry from a DIRECTORY Entry; Corruption if `tree` is malformed.
Result<Hash> TreeOf(const objects::Entry& dir);

}  // namespace snapvol::volume
