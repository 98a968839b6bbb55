// Fsck: checks everything a store's catalog references, from the version
// logs down to every chunk, with the rules a reader applies
// (store/object_check.h) plus the ones only a whole walk can see: version
// logs without gaps whose commits name their volume, version and parent;
// B+tree pages at the right level whose entries lie in their parent's key
// range; totals (PageRef counts, a directory's subtree inodes and bytes, a
// commit's inodes and bytes) that equal what is below them; file contents
// whose chunks exist, have the size their reference says and (unless
// quick) the SHA-256 they are named by. Shared pages and chunks are checked
// once. docs/storage-format.md, "fsck".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "driver/core/result.h"
#include "driver/store/store.h"

namespace snapvol::volume {

struct FsckOptions {
  // Check that chunks exist (and their size from the directory listing of
  // the store) without reading and hashing them.
  bool quick = false;
};

struct FsckProblem {
  std::string where;  // "volume 'v' in environment 'main', version 3, /a/b"
  std::string what;
};

struct FsckReport {
  uint64_t environments = 0, volumes = 0, versions = 0;
  uint64_t pages = 0, files = 0, chunks = 0;  // distinct objects checked
  uint64_t chunk_bytes = 0;                   // bytes of those chunks
  std::vector<FsckProblem> problems;
  bool clean() const { return problems.empty(); }
};

// Walks the whole store. Only failing to list the catalog is an error;
// everything else found wrong is a problem in the report.
core::Result<FsckReport> Fsck(store::Store& store, const FsckOptions& options);

struct RebuildReport {
  uint64_t objects = 0;  // read
  uint64_t commits = 0;  // found among them
  struct Volume {
    std::string environment, name, id;
    uint64_t versions = 0;
    bool named = false;  // false: its commits predate names ("recovered-<id>")
    // Other commit objects that also claim the head version (commits that
    // lost the race for it, or the landed one if the guess is wrong).
    std::vector<std::string> other_heads;
  };
  std::vector<Volume> volumes;
};

// Rebuilds an empty catalog (catalog.db lost or emptied) from the commit
// objects: reads every object, keeps those that decode as commits, and per
// volume id follows the parent links down from its newest version. Each
// commit names its volume's environment and name (older ones do not: their
// volume is "recovered-<first 8 of its id>" in "main"). The head version
// is ambiguous when commits that lost the race for it are stored too: the
// newest by time is taken and the others are listed. FailedPrecondition if
// the catalog still has volumes.
core::Result<RebuildReport> RebuildCatalog(store::Store& store, int64_t now_ns);

}  // namespace snapvol::volume
