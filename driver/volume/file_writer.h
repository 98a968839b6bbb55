// FileWriter: turns a byte stream into file Content: inline for small files,
// content-defined chunks (stored as they are cut) otherwise, and a FileIndex
// object when a file has more than kMaxDirectChunks chunks. Hashing and
// storing run on a small worker pool so a put runs at disk speed.
// Not thread-safe (one stream per writer).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "driver/core/result.h"
#include "driver/store/chunker.h"
#include "driver/store/object_store.h"
#include "snapvol_objects.pb.h"

namespace snapvol::volume {

using core::Result;
using core::Status;

inline constexpr size_t kInlineLimit = 4096;    // files up to this size are inlined
inline constexpr size_t kMaxDirectChunks = 64;  // more chunks go to a FileIndex

class FileWriter {
 public:
  explicit FileWriter(store::ObjectStore* objects, store::ChunkerParams params = {});
  ~FileWriter();

  Status Write(std::string_view data);
  // Appends `n` zero bytes stored as a hole (no object), for sparse files.
  Status WriteHole(uint64_t n);
  // Finishes the stream. The returned content's objects have been Put (not
  // yet flushed). The writer cannot be reused.
  Result<objects::Content> Finish();
  uint64_t size() const { return size_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t size_ = 0;
};

}  // namespace snapvol::volume
