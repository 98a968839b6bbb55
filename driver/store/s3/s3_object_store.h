// S3ObjectStore: the ObjectStore over one S3 bucket and key prefix (layout in
// s3_layout.h and docs/storage-format.md, "S3 layout (first slice)"). Runs
// tests/store/object_store_conformance against a real Ceph RGW
// (e2e/s3/s3_e2e_test.cc).
//
// Put: HEAD first; an object already there with the right size is not sent
// again (dedup). Otherwise PUT with `If-None-Match: *`, and a 412 — another
// writer created it meanwhile, with the same bytes since the key is their
// hash — counts as success. An object there with the wrong size (a torn or
// foreign write) and an object this instance saw fail verification are
// overwritten unconditionally, which heals them: identical content makes
// racing overwrites harmless.
// Get verifies the SHA-256 of what the server sent: a mismatch is
// Corruption naming the object and its key, and the bytes are never
// returned. An S3 PUT is durable once answered, so every Put is durable when
// it returns and Flush() has nothing to do.
// Contains and Delete are one HEAD (plus one DELETE); Delete is NotFound if
// the object is absent. ForEach lists <prefix>objects/<kind>/ page by page
// and visits only objects of `kind`, in hash order; keys it does not
// recognise are skipped.
//
// Errors are the S3 client's (s3_client.h): Unavailable once retries are
// exhausted, PermissionDenied, …, annotated with the object. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "driver/store/object_store.h"
#include "driver/store/s3/s3_client.h"
#include "driver/store/s3/s3_layout.h"

namespace snapvol::store {

class S3ObjectStore : public ObjectStore {
 public:
  // Opens the store under `prefix` of the client's bucket: reads
  // <prefix>FORMAT, creating it if absent (If-None-Match: *, so concurrent
  // openers agree); FailedPrecondition if it names another format.
  static Result<std::unique_ptr<S3ObjectStore>> Open(std::unique_ptr<S3Client> client,
                                                     std::string_view prefix);

  Status Put(const Hash& id, ObjectKind kind, std::string_view data) override;
  Result<Hash> PutContent(ObjectKind kind, std::string_view data) override;
  Result<std::string> Get(const Hash& id, ObjectKind kind) override;
  Result<bool> Contains(const Hash& id, ObjectKind kind) override;
  Status Flush() override;
  Status Delete(const Hash& id, ObjectKind kind) override;
  Status ForEach(ObjectKind kind, const std::function<Status(const Hash&)>& fn) override;

  const S3Layout& layout() const { return layout_; }
  S3Client& client() { return *client_; }

 private:
  S3ObjectStore(std::unique_ptr<S3Client> client, S3Layout layout)
      : client_(std::move(client)), layout_(std::move(layout)) {}
  // Put without checking `id` (the caller computed it from `data`).
  Status Store(const Hash& id, ObjectKind kind, std::string_view data);
  std::string Describe(const Hash& id, ObjectKind kind) const;

  const std::unique_ptr<S3Client> client_;
  const S3Layout layout_;
  std::mutex mu_;
  // Keys whose bytes failed verification here: the next Put overwrites them.
  std::unordered_set<std::string> corrupt_;  // guarded by mu_
};

}  // namespace snapvol::store
