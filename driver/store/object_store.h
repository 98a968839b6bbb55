// ObjectStore: immutable content-addressed objects (chunks, file indexes,
// tree pages, commits). Backends: local directory (now), S3 bucket and a
// node-local cache wrapper (later issues); all run tests/store/
// object_store_conformance.
//
// Write ordering contract (docs/storage-format.md): a writer Put()s every
// object a commit references, then calls Flush(), and only then appends the
// version record to the Catalog. Hence a version record never names an
// object that is not durable.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "driver/core/hash.h"
#include "driver/core/result.h"

namespace snapvol::store {

using core::Hash;
using core::Result;
using core::Status;

// What an object is. Lets backends lay out, pack and cache kinds differently;
// the name alone (SHA-256 of the bytes) identifies an object.
enum class ObjectKind : uint8_t {
  kChunk = 0,
  kIndex = 1,
  kTree = 2,
  kCommit = 3,
};
std::string_view ObjectKindName(ObjectKind kind);

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Stores `data` under `id`, which must equal Hash::Of(data) (InvalidArgument
  // otherwise). Idempotent: storing an existing object is a cheap no-op.
  // The object may only become durable at the next Flush(). Thread-safe.
  virtual Status Put(const Hash& id, ObjectKind kind, std::string_view data) = 0;

  // Returns the object's bytes, verified against `id`. NotFound if absent;
  // Corruption (naming the object) if the stored bytes do not hash to `id` —
  // a corrupt object is never returned. Thread-safe.
  virtual Result<std::string> Get(const Hash& id, ObjectKind kind) = 0;

  virtual Result<bool> Contains(const Hash& id, ObjectKind kind) = 0;

  // Makes every Put() that returned before this call durable. Thread-safe.
  virtual Status Flush() = 0;

  // Removes an object (garbage collection only). NotFound if absent.
  virtual Status Delete(const Hash& id, ObjectKind kind) = 0;

  // Calls `fn` for every stored object of `kind`; stops at the first error.
  // A backend that does not record kinds (the local one) visits every
  // object whatever `kind` is; callers must treat `kind` as a filter hint.
  virtual Status ForEach(ObjectKind kind, const std::function<Status(const Hash&)>& fn) = 0;
};

}  // namespace snapvol::store
