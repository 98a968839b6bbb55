// Suggest: the known words closest to a typo ("crate" → "create"), for
// "unknown command ...; did you mean ...?".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace snapvol::cli {

// Edit distance (insertions, deletions, substitutions, and swaps of two
// neighbouring characters count 1).
size_t EditDistance(std::string_view a, std::string_view b);

// The candidates within distance 2 of `typed` (1 for words of up to 3
// characters), or that `typed` is a prefix of, nearest first, ties in
// candidate order; at most 3.
std::vector<std::string> Suggest(std::string_view typed,
                                 const std::vector<std::string>& candidates);

}  // namespace snapvol::cli
