// Byte strings in JSON (core/text.h): JSON text is UTF-8, names and paths are
// bytes. A field holds the string (shown with U+FFFD where bytes are not
// UTF-8, by dumping with error_handler_t::replace) and, only when the bytes
// are not UTF-8, a sibling "<key>_base64" with the exact bytes; readers
// prefer the sibling. Header-only: include it only from targets that link
// nlohmann_json.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

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

// *out = j[key] if present and not null; a missing key leaves *out alone.
// An integer field must hold a JSON integer that fits T: get<T>() would
// cast 1e300 (undefined behaviour) or wrap -1 into an unsigned field
// without complaint. Throws std::runtime_error naming the key otherwise.
template <typename T>
void GetJsonField(const nlohmann::json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    const bool fits = it->is_number_unsigned()  ? std::in_range<T>(it->template get<uint64_t>())
                      : it->is_number_integer() ? std::in_range<T>(it->template get<int64_t>())
                                                : false;
    if (!fits) throw std::runtime_error(std::string("bad integer field ") + key);
  }
  *out = it->template get<T>();
}

// j.dump() that never throws on bytes that are not UTF-8.
inline std::string DumpJsonText(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace snapvol::core
