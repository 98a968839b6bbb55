#include "driver/store/object_buffer.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace snapvol::store {

ObjectBuffer::~ObjectBuffer() { std::free(data_); }

ObjectBuffer::ObjectBuffer(ObjectBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

ObjectBuffer& ObjectBuffer::operator=(ObjectBuffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

void ObjectBuffer::Resize(size_t n) {
  if (n > capacity_) {
    size_t cap = (n + kAlignment - 1) / kAlignment * kAlignment;
    void* p = std::aligned_alloc(kAlignment, cap);
    if (p == nullptr) throw std::bad_alloc();
    std::free(data_);
    data_ = static_cast<char*>(p);
    capacity_ = cap;
  }
  size_ = n;
}

void ObjectBuffer::Assign(std::string_view data) {
  Resize(data.size());
  if (!data.empty()) std::memcpy(data_, data.data(), data.size());
}

void ObjectBuffer::Clear() {
  std::free(data_);
  data_ = nullptr;
  size_ = capacity_ = 0;
}

}  // namespace snapvol::store
