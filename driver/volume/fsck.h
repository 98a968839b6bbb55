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

}  // namespace snapvol::volume
