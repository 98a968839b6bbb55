// ObjectBuffer: a reusable byte buffer for object reads
// (ObjectStore::GetInto). Unlike std::string it never zero-fills on growth,
// and it keeps its memory across reads, so streaming many chunks through one
// buffer neither memsets nor page-faults per chunk. The memory is aligned to
// kAlignment (a page), so backends may read into it with direct I/O.
//
// Move-only. Not thread-safe: one reader fills a buffer at a time.
#pragma once

#include <cstddef>
#include <string_view>

namespace snapvol::store {

class ObjectBuffer {
 public:
  static constexpr size_t kAlignment = 4096;

  ObjectBuffer() = default;
  ~ObjectBuffer();
  ObjectBuffer(ObjectBuffer&& other) noexcept;
  ObjectBuffer& operator=(ObjectBuffer&& other) noexcept;
  ObjectBuffer(const ObjectBuffer&) = delete;
  ObjectBuffer& operator=(const ObjectBuffer&) = delete;

  // Sets size() to `n`. Grows the allocation (to a multiple of kAlignment)
  // if `n` exceeds capacity(); the bytes are unspecified afterwards either
  // way (callers overwrite them).
  void Resize(size_t n);
  // Replaces the contents with a copy of `data`.
  void Assign(std::string_view data);
  // Releases the memory.
  void Clear();

  char* data() { return data_; }
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  std::string_view view() const { return {data_, size_}; }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace snapvol::store
