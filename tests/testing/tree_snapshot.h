// TreeSnapshot: what a directory tree shows through the system calls a user
// makes — for every path below a root its type, permission bits, owner,
// size, link count, symlink target, device number, user.* xattrs, content
// hash and which other paths are hard links of it — and the differences
// between two such snapshots. The stress tests compare a mount against a
// plain directory (the model) and against a fresh mount of the head.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace snapvol::testing {

struct TreeEntry {
  char type = '?';  // f d l p s c b
  unsigned mode = 0;
  unsigned uid = 0, gid = 0;
  unsigned long long size = 0;  // files and symlinks
  unsigned long nlink = 0;
  unsigned long long rdev = 0;
  std::string target;                         // symlinks
  std::map<std::string, std::string> xattrs;  // user.* only
  std::string content;                        // files: SHA-256, hex
  std::string links;                          // files: the other paths of the same inode, sorted
  std::string error;  // what could not be read (a failed read is a difference)
};

using TreeSnapshot = std::map<std::string, TreeEntry>;  // relative path -> entry

struct SnapshotOptions {
  // Which paths to take (relative, e.g. "s0/xa"); a directory not taken is
  // not walked. All if unset: the two-mount test takes one mount's names.
  std::function<bool(const std::string&)> keep;
  // Directory link counts differ between file systems by design (docs/
  // mount.md "Link counts": snapvol reports 1); off, they read as 0.
  bool dir_nlink = false;
  // A mount that attached committed hard links counts the names it has
  // looked up, and the kernel keeps the count it was first told (docs/
  // mount.md "Link counts", a known gap): off, file link counts read as 0
  // (which paths share an inode is still compared).
  bool file_nlink = true;
};

TreeSnapshot Snapshot(const std::string& root, const SnapshotOptions& options = {});

// Human-readable differences (at most `max` lines; empty = equal).
std::vector<std::string> Diff(const TreeSnapshot& expected, const TreeSnapshot& actual,
                              size_t max = 20);

// Merges snapshots whose paths are disjoint but for shared directories
// (whose attributes must agree): the tree two mounts' commits should make.
TreeSnapshot Union(const TreeSnapshot& a, const TreeSnapshot& b);

}  // namespace snapvol::testing
