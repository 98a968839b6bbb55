// Content-defined chunking (FastCDC-style gear hash with normalized
// chunking). A cut point depends only on the bytes since the previous cut,
// so inserting bytes into a file changes only the chunks around the edit,
// and identical content chunks identically in every file, version and
// volume (dedup).
#pragma once

#include <cstddef>
#include <cstdint>

namespace snapvol::store {

struct ChunkerParams {
  size_t min_size = 1 << 20;  // 1 MiB
  size_t avg_size = 2 << 20;  // 2 MiB
  size_t max_size = 4 << 20;  // 4 MiB
};

class Chunker {
 public:
  explicit Chunker(ChunkerParams params = {});
  // Length of the first chunk of `data` (which starts at a chunk boundary).
  // If `len` < max_size and !eof, may return 0 meaning "need more data".
  // With eof, always returns a length in [1, len] (len if no cut is found).
  size_t Cut(const uint8_t* data, size_t len, bool eof) const;
  const ChunkerParams& params() const { return params_; }

 private:
  ChunkerParams params_;
  uint64_t mask_small_;  // stricter mask before avg_size
  uint64_t mask_large_;  // looser mask after avg_size
};

}  // namespace snapvol::store
