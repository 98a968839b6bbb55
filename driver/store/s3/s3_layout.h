// S3Layout: every key the S3 backend uses in its bucket, in one place.
// docs/storage-format.md ("S3 layout (first slice)") describes the same
// layout and tests/store/s3/s3_layout_test.cc checks that the two agree.
//
//   <prefix>FORMAT                               "snapvol-s3-store 1\n"; created
//                                                if absent by the first Open
//   <prefix>objects/<kind>/<xx>/<64 hex>         object bytes; kind is chunk,
//                                                index, tree or commit; xx = the
//                                                first byte of the SHA-256
//
// <prefix> is empty (the whole bucket) or a relative path ending in '/'.
// Pure string functions; no I/O. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "driver/core/hash.h"
#include "driver/core/result.h"
#include "driver/store/object_store.h"

namespace snapvol::store {

class S3Layout {
 public:
  static constexpr std::string_view kFormatName = "snapvol-s3-store";
  static constexpr int kFormatVersion = 1;
  // The whole content of <prefix>FORMAT.
  static std::string FormatContent();
  // Ok if `content` names this format (trailing whitespace ignored);
  // FailedPrecondition otherwise, naming what was found (escaped, cut).
  static core::Status CheckFormat(std::string_view content);

  // A prefix as users write it: "" or "a/b" or "a/b/". InvalidArgument for
  // a leading '/', an empty, "." or ".." segment, or bytes other than
  // printable ASCII (keys go into URLs and signatures as they are).
  static core::Result<S3Layout> ForPrefix(std::string_view prefix);

  const std::string& prefix() const { return prefix_; }
  std::string FormatKey() const { return prefix_ + "FORMAT"; }
  // <prefix>objects/<kind>/ — every object of one kind lies below it.
  std::string KindPrefix(ObjectKind kind) const;
  std::string ObjectKey(const Hash& id, ObjectKind kind) const;
  // The hash in an object key of `kind`; nullopt for any other key.
  std::optional<Hash> ParseObjectKey(std::string_view key, ObjectKind kind) const;

  // The directory name of a kind in object keys.
  static std::string_view KindDir(ObjectKind kind);

 private:
  explicit S3Layout(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string prefix_;
};

}  // namespace snapvol::store
