// LocalLayout: every on-disk name of the embedded (local directory) store, in
// one place. docs/storage-format.md describes the same layout and
// tests/store/local_object_store_test.cc checks that the two agree.
//
//   <root>/FORMAT                    "snapvol-store 1\n"; written last on creation
//   <root>/objects/<xx>/<62 hex>     object bytes; xx = first byte of the SHA-256
//                                    (<xx> directories are created on first use)
//   <root>/tmp.lock                  shared by instances taking their owner lock,
//                                    exclusive while one cleans stale temps
//   <root>/tmp/<owner>.lock          flock held by a live store instance
//   <root>/tmp/<owner>.<tid>.<n>     that instance's temp files (renamed into objects/)
//   <root>/quarantine/<64 hex>.<owner>.<n>   corrupt objects moved aside by Get
//   <root>/verified/<64 hex>         the host's verification memo of a chunk
//                                    (verified_memo.h; created on first use)
//   <root>/catalog.db (+ -wal, -shm) SQLite catalog
//
// Pure string functions; no I/O. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "driver/core/hash.h"
#include "driver/core/status.h"

namespace snapvol::store {

class LocalLayout {
 public:
  // The only format this code reads and writes.
  static constexpr std::string_view kFormatName = "snapvol-store";
  static constexpr int kFormatVersion = 1;
  // The whole content of FORMAT.
  static std::string FormatFileContent();
  // Ok if `content` (FORMAT's bytes, read from disk) names this format;
  // trailing spaces and newlines are ignored. FailedPrecondition otherwise,
  // naming the version found; foreign bytes in the message are escaped
  // (core::QuoteBytes) and cut to 64 bytes.
  core::Status CheckFormat(std::string_view content) const;

  // `root` must be absolute and normalized (no trailing slash).
  explicit LocalLayout(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  std::string FormatFile() const { return root_ + "/FORMAT"; }
  std::string ObjectsDir() const { return root_ + "/objects"; }
  // objects/<xx> for the first byte `prefix` of a hash.
  std::string ObjectDir(uint8_t prefix) const;
  std::string ObjectFile(const core::Hash& id) const;
  std::string TmpDir() const { return root_ + "/tmp"; }
  // Guards tmp/ against cleaning while an instance takes its owner lock.
  std::string TmpLockFile() const { return root_ + "/tmp.lock"; }
  std::string LockFile(std::string_view owner) const;
  // `tid` (the writing thread's kernel id) keeps names unique even if a
  // forked child keeps using its parent's instance (same owner and counter).
  std::string TempFile(std::string_view owner, uint64_t tid, uint64_t n) const;
  std::string QuarantineDir() const { return root_ + "/quarantine"; }
  std::string QuarantineFile(const core::Hash& id, std::string_view owner, uint64_t n) const;
  std::string VerifiedDir() const { return root_ + "/verified"; }
  std::string VerifiedFile(const core::Hash& id) const { return VerifiedDir() + "/" + id.Hex(); }
  std::string CatalogFile() const { return root_ + "/catalog.db"; }

  // Whether `name` may appear directly under the root of a store (used to
  // refuse turning a non-empty foreign directory into a store).
  static bool IsLayoutName(std::string_view name);
  // Parses objects/<dir>/<file> back into a hash; nullopt for foreign names.
  static std::optional<core::Hash> ParseObjectName(std::string_view dir, std::string_view file);
  // The owner a tmp/ entry belongs to: the part before the first '.'.
  static std::string_view TempOwner(std::string_view tmp_name);

 private:
  std::string root_;
};

}  // namespace snapvol::store
