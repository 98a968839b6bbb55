// MountTable: the kernel's mounts as /proc/self/mountinfo lists them, read
// without touching any mount (a dead FUSE mount can hang a stat(2)).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace snapvol::fs {

struct MountEntry {
  std::string mountpoint;  // unescaped
  std::string device;      // "major:minor"
  std::string fstype;      // e.g. "fuse.snapvol", "ext4"
};

// The top-most mount at `mountpoint` (an absolute path, compared as given)
// in `mountinfo` (the text of a mountinfo file), if any. Malformed lines are
// skipped.
std::optional<MountEntry> FindMount(std::string_view mountinfo, const std::string& mountpoint);

// FindMount over this process's /proc/self/mountinfo.
std::optional<MountEntry> FindMount(const std::string& mountpoint);

// Whether `fstype` is a FUSE file system ("fuse", "fuse.*", "fuseblk").
bool IsFuseType(std::string_view fstype);

}  // namespace snapvol::fs
