// Helpers for local (host) path strings and the `modal volume` argument rules
// that are built on them.
#pragma once

#include <string>
#include <string_view>

namespace snapvol::cli {

// Like Python's os.path.basename: the text after the last '/', so "dir/"
// gives "" and "a/b" gives "b".
std::string_view PyBasename(std::string_view path);

// The last component of `path` ignoring trailing slashes: "a/b/" gives "b",
// "/" gives "".
std::string LastComponent(std::string_view path);

// The directory holding the last component: "a/b" -> "a", "b" -> ".",
// "/b" -> "/", "a/b/" -> "a".
std::string ParentOf(std::string_view path);

// `dir` + "/" + `name` without doubling the slash.
std::string JoinLocal(std::string_view dir, std::string_view name);

}  // namespace snapvol::cli
