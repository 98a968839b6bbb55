#include "driver/store/local/local_layout.h"

#include "driver/core/text.h"

namespace snapvol::store {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

}  // namespace

std::string LocalLayout::FormatFileContent() {
  return std::string(kFormatName) + " " + std::to_string(kFormatVersion) + "\n";
}

core::Status LocalLayout::CheckFormat(std::string_view v) const {
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ' || v.back() == '\r')) {
    v.remove_suffix(1);
  }
  std::string expected = FormatFileContent();
  expected.pop_back();
  if (v == expected) return core::Status::Ok();
  constexpr size_t kShown = 64;
  std::string prefix = std::string(kFormatName) + " ";
  if (v.substr(0, prefix.size()) == prefix) {
    return core::Status::FailedPrecondition("store " + root_ + " has format version " +
                                            core::QuoteBytes(v.substr(prefix.size(), kShown)) +
                                            ", but this snapvol only understands version " +
                                            std::to_string(kFormatVersion) + " (" + FormatFile() +
                                            ")");
  }
  return core::Status::FailedPrecondition("unknown store format " +
                                          core::QuoteBytes(v.substr(0, kShown)) + " in " +
                                          FormatFile() + "; expected '" + expected + "'");
}

std::string LocalLayout::ObjectDir(uint8_t prefix) const {
  std::string s = root_ + "/objects/";
  s += kHexDigits[prefix >> 4];
  s += kHexDigits[prefix & 15];
  return s;
}

std::string LocalLayout::ObjectFile(const core::Hash& id) const {
  std::string hex = id.Hex();
  std::string s;
  s.reserve(root_.size() + 9 + 3 + hex.size());
  s += root_;
  s += "/objects/";
  s.append(hex, 0, 2);
  s += '/';
  s.append(hex, 2, std::string::npos);
  return s;
}

std::string LocalLayout::LockFile(std::string_view owner) const {
  std::string s = root_ + "/tmp/";
  s += owner;
  s += ".lock";
  return s;
}

std::string LocalLayout::TempFile(std::string_view owner, uint64_t tid, uint64_t n) const {
  std::string s = root_ + "/tmp/";
  s += owner;
  s += '.';
  s += std::to_string(tid);
  s += '.';
  s += std::to_string(n);
  return s;
}

std::string LocalLayout::QuarantineFile(const core::Hash& id, std::string_view owner,
                                        uint64_t n) const {
  std::string s = root_ + "/quarantine/" + id.Hex() + ".";
  s += owner;
  s += '.';
  s += std::to_string(n);
  return s;
}

bool LocalLayout::IsLayoutName(std::string_view name) {
  return name == "FORMAT" || name == "objects" || name == "tmp" || name == "tmp.lock" ||
         name == "quarantine" || name == "verified" || name == "catalog.db" ||
         name == "catalog.db-wal" || name == "catalog.db-shm" || name == "catalog.db-journal";
}

std::optional<core::Hash> LocalLayout::ParseObjectName(std::string_view dir,
                                                       std::string_view file) {
  if (dir.size() != 2 || file.size() != 2 * core::Hash::kSize - 2) return std::nullopt;
  std::string hex;
  hex.reserve(2 * core::Hash::kSize);
  hex += dir;
  hex += file;
  for (char c : hex) {
    // Only the lowercase names this layout writes; anything else is foreign.
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  auto h = core::Hash::FromHex(hex);
  if (!h.ok()) return std::nullopt;
  return *h;
}

std::string_view LocalLayout::TempOwner(std::string_view tmp_name) {
  return tmp_name.substr(0, tmp_name.find('.'));
}

}  // namespace snapvol::store
