// Byte strings in JSON (core/text.h): JSON text is UTF-8, names and paths are
// bytes. A field holds the string (shown with U+FFFD where bytes are not
// UTF-8, by dumping with error_handler_t::replace) and, only when the bytes
// are not UTF-8, a sibling "<key>_base64" with the exact bytes; readers
// prefer the sibling. Header-only: include it only from targets that link
// nlohmann_json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "driver/core/text.h"

namespace snapvol::core {

inline void SetJsonBytes(nlohmann::json& j, const std::string& key, const std::string& bytes) {
  j[key] = bytes;
  if (!IsUtf8(bytes)) j[key + "_base64"] = Base64Encode(bytes);
}

// The bytes of j[key] (or its "_base64" sibling); false if neither is a
// string or the sibling is not base64. A missing key leaves *out alone.
inline bool GetJsonBytes(const nlohmann::json& j, const std::string& key, std::string* out) {
  if (auto b = j.find(key + "_base64"); b != j.end()) {
    if (!b->is_string()) return false;
    std::optional<std::string> bytes = Base64Decode(b->get<std::string>());
    if (!bytes) return false;
    *out = std::move(*bytes);
    return true;
  }
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

// j.dump() that never throws on bytes that are not UTF-8.
inline std::string DumpJsonText(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace snapvol::core
