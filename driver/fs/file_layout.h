// FileLayout: where each byte of a committed file's Content lives — inline
// data, a chunk (at an offset inside it), a slice of a pack or a hole — so a read of any range
// is answered from at most a few chunks, never by copying the file first.
// Loading resolves the FileIndex object of a large file; chunk bytes are
// fetched lazily through the ChunkCache (verified there, S10).
// Immutable after Load (but for a read counter); thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "driver/core/hash.h"
#include "driver/core/result.h"
#include "driver/fs/chunk_cache.h"
#include "driver/store/object_store.h"
#include "snapvol_objects.pb.h"

namespace snapvol::fs {

// A piece of a read reply: `len` bytes either at `pos` of descriptor `fd`
// (fd >= 0, served by splice where possible) or at `mem`. `keep` holds what
// the pointer or descriptor belongs to alive until the reply is sent.
struct Segment {
  std::shared_ptr<const void> keep;
  int fd = -1;
  uint64_t pos = 0;
  const char* mem = nullptr;
  size_t len = 0;
};

// A buffer of zeros for holes, at least kZeroBytes long.
const char* Zeros();
inline constexpr size_t kZeroBytes = 1 << 20;

class FileLayout : public std::enable_shared_from_this<FileLayout> {
 public:
  // `size` is the entry's size; content past the stored bytes reads as zeros.
  static Result<std::shared_ptr<const FileLayout>> Load(store::ObjectStore* objects,
                                                        const objects::Content& content,
                                                        uint64_t size);

  uint64_t size() const { return size_; }
  // Names the file's bytes: SHA-256 of the Content message and the size.
  // Equal keys mean equal bytes (the Content names every chunk by hash), so
  // a node-local copy of the whole file can be found by it (FileCache).
  const Hash& content_key() const { return content_key_; }

  // Bytes the mount was asked for through handles of this layout (reads the
  // kernel's page cache answered are not counted): a file read mostly is
  // worth a whole-file copy (FileCache).
  void NoteRead(uint64_t bytes) const { bytes_read_.fetch_add(bytes, std::memory_order_relaxed); }
  uint64_t bytes_read() const { return bytes_read_.load(std::memory_order_relaxed); }

  // Appends segments covering [off, off + n) clipped to size() (none past
  // EOF). Corruption / NotFound from a chunk that fails to load.
  Status Read(ChunkCache& cache, uint64_t off, size_t n, std::vector<Segment>* out) const;

  // Writes the first `limit` bytes of the file to descriptor `fd` at the same
  // offsets, leaving holes unwritten (sparse), then sets its length to
  // `limit`. Used for copy-up; costs the non-hole bytes only.
  Status CopyTo(ChunkCache& cache, int fd, uint64_t limit) const;

 private:
  // `size` bytes of the file at `offset`, stored at `object_offset` of the
  // object `hash` (`object_size` bytes: a chunk, or a pack of small files).
  struct Piece {
    uint64_t offset = 0;
    uint64_t size = 0;
    bool hole = false;
    Hash hash;
    uint64_t object_offset = 0;
    uint64_t object_size = 0;
  };
  FileLayout() = default;
  size_t Find(uint64_t offset) const;

  uint64_t size_ = 0;
  Hash content_key_;
  mutable std::atomic<uint64_t> bytes_read_{0};
  bool inline_ = true;
  std::string inline_data_;
  std::vector<Piece> pieces_;
  uint64_t stored_end_ = 0;  // end of the last piece
};

}  // namespace snapvol::fs
