// Byte strings shown to people or written into text formats. Names, paths,
// symlink targets and xattr names in snapvol are byte strings (any bytes but
// '/' and NUL; docs/storage-format.md, "Names are bytes"): they need not
// be UTF-8 and may hold control characters. Human output escapes them; JSON
// carries them exactly.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace snapvol::core {

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code
// points above U+10FFFF).
bool IsUtf8(std::string_view s);

// `s` for a terminal, as `ls -b` shows it: backslash, C0 and C1 control
// characters, DEL and bytes that are not part of valid UTF-8 become C
// escapes (\n, \t, \\, \ooo octal); printable UTF-8 is kept.
std::string EscapeBytes(std::string_view s);

// EscapeBytes in single quotes, for error messages: 'a\nb'.
std::string QuoteBytes(std::string_view s);

// Standard base64 (RFC 4648, with padding).
std::string Base64Encode(std::string_view bytes);
// nullopt if `text` is not canonical padded base64.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace snapvol::core
