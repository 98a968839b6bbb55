#include "driver/fs/mount_table.h"

#include <fstream>
#include <sstream>
#include <vector>

namespace snapvol::fs {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::optional<MountEntry> FindMount(std::string_view mountinfo, const std::string& mountpoint) {
  std::optional<MountEntry> found;
  std::istringstream lines{std::string(mountinfo)};
  std::string line;
  while (std::getline(lines, line)) {
    // id parent major:minor root mountpoint options [optional...] - type source super
    std::istringstream in(line);
    std::vector<std::string> f;
    std::string word;
    while (in >> word) f.push_back(word);
    if (f.size() < 7 || Unescape(f[4]) != mountpoint) continue;
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 1 >= f.size()) continue;
    found = MountEntry{Unescape(f[4]), f[2], f[dash + 1]};
  }
  return found;
}

std::optional<MountEntry> FindMount(const std::string& mountpoint) {
  std::ifstream f("/proc/self/mountinfo");
  std::stringstream text;
  text << f.rdbuf();
  return FindMount(text.str(), mountpoint);
}

bool IsFuseType(std::string_view fstype) {
  return fstype == "fuse" || fstype == "fuseblk" || fstype.rfind("fuse.", 0) == 0;
}

}  // namespace snapvol::fs
