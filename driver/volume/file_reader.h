// FileReader: random and sequential reads of a file's committed Content.
// Every chunk read is verified by the object store (S10). Thread-compatible:
// concurrent ReadAt calls need external locking; use one reader per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "driver/core/result.h"
#include "driver/store/object_store.h"
#include "snapvol_objects.pb.h"

namespace snapvol::volume {

using core::Result;
using core::Status;

class FileReader {
 public:
  // Loads the file index if the content has one. `size` is the entry's size.
  static Result<std::unique_ptr<FileReader>> Open(store::ObjectStore* objects,
                                                  const objects::Content& content, uint64_t size);
  ~FileReader();

  // Reads up to n bytes at offset; returns bytes read (short only at EOF).
  Result<size_t> ReadAt(uint64_t offset, size_t n, char* out);

  // Streams the whole file to `sink` in order, fetching and verifying chunks
  // ahead on worker threads. Stops at the first error from a fetch or sink.
  Status ReadAll(const std::function<Status(std::string_view)>& sink);

  // Hands every byte of the file that is not a hole to `sink` exactly once,
  // as (offset, bytes) pieces, called from several worker threads at once
  // and in any order; each piece is verified (S10) before `sink` sees it.
  // Holes (and a zero tail past the last chunk) are never passed: the
  // caller's output must already read as zeros there (e.g. a new file
  // extended with ftruncate). The fastest way to copy a file out: reading,
  // hashing and the sink's writes all run in parallel, each while the
  // chunk is still in the CPU cache. After the first error no new sink
  // call starts; calls in flight finish before this returns the error
  // (the caller then discards what was written). `sink` must be
  // thread-safe.
  Status ReadAllUnordered(const std::function<Status(uint64_t, std::string_view)>& sink);

  uint64_t size() const { return size_; }

 private:
  FileReader() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t size_ = 0;
};

}  // namespace snapvol::volume
