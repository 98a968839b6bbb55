// Validation of user-supplied names and in-volume paths. Every layer that
// takes a name or path from outside (CLI, CSI, hook, mount) calls these first.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "driver/core/result.h"

namespace snapvol::core {

// Volume and environment names: 1-63 characters from [A-Za-z0-9._-],
// starting with a letter or digit.
inline constexpr std::string_view kNamePattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$";
inline constexpr size_t kMaxNameLength = 63;
inline constexpr size_t kMaxComponentLength = 255;
inline constexpr size_t kMaxPathLength = 4096;

// InvalidArgument naming `what` ("volume", "environment") and the pattern.
Status ValidateName(std::string_view what, std::string_view name);

// Splits a path inside a volume into components. Leading, trailing and
// repeated slashes and "." components are ignored; "" and "/" are the root
// (no components). Rejects ".." anywhere, NUL bytes, components longer than
// 255 bytes and paths longer than 4096 bytes, with InvalidArgument.
Result<std::vector<std::string>> SplitVolumePath(std::string_view path);

// "/a/b" from {"a","b"}; "/" for the root.
std::string JoinVolumePath(const std::vector<std::string>& components);

// Validates one directory-entry name (no '/', not "." or "..", no NUL, <= 255 bytes).
Status ValidateComponent(std::string_view name);

}  // namespace snapvol::core
