#include "driver/store/s3/s3_layout.h"

#include "driver/core/text.h"

namespace snapvol::store {

using core::Status;

std::string S3Layout::FormatContent() {
  return std::string(kFormatName) + " " + std::to_string(kFormatVersion) + "\n";
}

Status S3Layout::CheckFormat(std::string_view content) {
  std::string_view s = content;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.remove_suffix(1);
  }
  std::string want = FormatContent();
  want.pop_back();
  if (s == want) return Status::Ok();
  return Status::FailedPrecondition("bucket prefix holds FORMAT " +
                                    core::QuoteBytes(s.substr(0, 64)) + ", this build reads '" +
                                    want + "' only");
}

core::Result<S3Layout> S3Layout::ForPrefix(std::string_view prefix) {
  std::string p(prefix);
  if (!p.empty() && p.back() != '/') p += '/';
  if (!p.empty() && p.front() == '/') {
    return Status::InvalidArgument("S3 prefix " + core::QuoteBytes(prefix) +
                                   " starts with '/'; write it relative to the bucket");
  }
  size_t start = 0;
  while (start < p.size()) {
    size_t slash = p.find('/', start);
    std::string_view seg = std::string_view(p).substr(start, slash - start);
    if (seg.empty() || seg == "." || seg == "..") {
      return Status::InvalidArgument("S3 prefix " + core::QuoteBytes(prefix) +
                                     " has an empty, '.' or '..' segment");
    }
    start = slash + 1;
  }
  for (char c : p) {
    if (c <= 0x20 || c >= 0x7f) {
      return Status::InvalidArgument("S3 prefix " + core::QuoteBytes(prefix) +
                                     " holds a byte that is not printable ASCII");
    }
  }
  return S3Layout(std::move(p));
}

std::string_view S3Layout::KindDir(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kChunk:
      return "chunk";
    case ObjectKind::kIndex:
      return "index";
    case ObjectKind::kTree:
      return "tree";
    case ObjectKind::kCommit:
      return "commit";
  }
  return "unknown";
}

std::string S3Layout::KindPrefix(ObjectKind kind) const {
  return prefix_ + "objects/" + std::string(KindDir(kind)) + "/";
}

std::string S3Layout::ObjectKey(const Hash& id, ObjectKind kind) const {
  std::string hex = id.Hex();
  return KindPrefix(kind) + hex.substr(0, 2) + "/" + hex;
}

std::optional<Hash> S3Layout::ParseObjectKey(std::string_view key, ObjectKind kind) const {
  std::string dir = KindPrefix(kind);
  if (key.size() != dir.size() + 3 + 64 || key.substr(0, dir.size()) != dir) return std::nullopt;
  std::string_view rest = key.substr(dir.size());
  if (rest[2] != '/' || rest.substr(0, 2) != rest.substr(3, 2)) return std::nullopt;
  std::string_view hex = rest.substr(3);
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  auto id = Hash::FromHex(hex);
  if (!id.ok()) return std::nullopt;
  return *id;
}

}  // namespace snapvol::store
