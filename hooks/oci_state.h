// OciState: what an OCI runtime tells a hook (runtime-spec "State", JSON on
// the hook's stdin) and what the hook reads from the bundle's config.json.
// Both come from the runtime, which is trusted, but their values
// (annotations, root.path) are written by whoever starts the container: they
// are parsed strictly and bounded in size.
#pragma once

#include <map>
#include <string>

#include "driver/core/result.h"

namespace snapvol::hooks {

struct OciState {
  std::string oci_version;
  std::string id;      // the container id
  std::string status;  // "creating", "created", "running", "stopped"
  int pid = 0;         // the container's init process (0 once stopped)
  std::string bundle;  // absolute path of the bundle directory
  std::map<std::string, std::string> annotations;
};

struct OciConfig {
  std::string root_path;  // root.path as written (relative to the bundle or absolute)
  bool root_readonly = false;
  std::map<std::string, std::string> annotations;
};

inline constexpr size_t kMaxStateBytes = 1 << 20;
inline constexpr size_t kMaxConfigBytes = 16 << 20;

// InvalidArgument naming the field for malformed JSON, a missing id or
// bundle, a relative bundle, a negative pid or annotations that are not
// strings.
core::Result<OciState> ParseState(const std::string& json);
core::Result<OciConfig> ParseConfig(const std::string& json);

// Reads a file of at most `limit` bytes (InvalidArgument if larger).
core::Result<std::string> ReadBounded(const std::string& path, size_t limit);
// Reads a descriptor (stdin) to its end, at most `limit` bytes.
core::Result<std::string> ReadBoundedFd(int fd, size_t limit, const std::string& what);

// The container's root file system on the host: `root_path` resolved
// against `bundle` (runtime-spec: relative paths are relative to the
// bundle), then symlinks resolved (realpath). NotFound if it does not
// exist; InvalidArgument if it is not a directory.
core::Result<std::string> ResolveRootfs(const std::string& bundle, const std::string& root_path);

}  // namespace snapvol::hooks
