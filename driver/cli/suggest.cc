#include "driver/cli/suggest.h"

#include <algorithm>

namespace snapvol::cli {

size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment, three rows.
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    prev2.swap(prev);
    prev.swap(cur);
  }
  return prev[b.size()];
}

std::vector<std::string> Suggest(std::string_view typed,
                                 const std::vector<std::string>& candidates) {
  if (typed.empty()) return {};
  const size_t limit = typed.size() <= 3 ? 1 : 2;
  std::vector<std::pair<size_t, size_t>> near;  // (distance, index)
  for (size_t i = 0; i < candidates.size(); ++i) {
    const std::string& c = candidates[i];
    size_t d = EditDistance(typed, c);
    if (c.size() > typed.size() && c.compare(0, typed.size(), typed) == 0)
      d = std::min<size_t>(d, 1);
    if (d <= limit) near.emplace_back(d, i);
  }
  std::stable_sort(near.begin(), near.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (const auto& [d, i] : near) {
    if (out.size() == 3) break;
    out.push_back(candidates[i]);
  }
  return out;
}

}  // namespace snapvol::cli
