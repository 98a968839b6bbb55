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
#include "driver/store/object_buffer.h"

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

  // Stores `data` under its SHA-256, computed here, and returns that name.
  // Same contract as Put otherwise. Prefer it to Hash::Of + Put when the
  // caller has no name yet: a backend that checks Put's `id` hashes every
  // byte again, this hashes once (chunks are most of a put's CPU time).
  // The default does Hash::Of + Put; backends override it. Thread-safe.
  virtual Result<Hash> PutContent(ObjectKind kind, std::string_view data);

  // Returns the object's bytes, verified against `id`. NotFound if absent;
  // Corruption (naming the object) if the stored bytes do not hash to `id` —
  // a corrupt object is never returned. Thread-safe.
  virtual Result<std::string> Get(const Hash& id, ObjectKind kind) = 0;

  // Get into a caller's buffer, for streaming many (large) objects: `out`'s
  // memory is reused, so a reader cycling a few buffers neither allocates
  // nor zero-fills per object. Same verification and errors as Get; on
  // error `out`'s contents are unspecified (never a corrupt object passed
  // off as good: callers must not use them). The default copies Get()'s
  // result; backends override it. Thread-safe (one buffer per caller).
  virtual Status GetInto(const Hash& id, ObjectKind kind, ObjectBuffer* out);

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

// For reads of an object something references (a tree's child page, a
// file's chunk): its absence is damage, not "not there". NotFound becomes
// Corruption naming the object; anything else passes unchanged. A mount
// turns Corruption into EIO, so a missing page never shows as an empty
// directory and a missing chunk never as ENOENT on read.
Status ReferencedObject(Status got, const Hash& id, ObjectKind kind);

}  // namespace snapvol::store
