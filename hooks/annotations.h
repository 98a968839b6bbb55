// Annotations: what a container asks of snapvol, read from its OCI
// annotations (docs/oci.md).
//
//   snapvol.io/volumes            "NAME:/PATH[:ro],..."   (required to do anything)
//   snapvol.io/environment        environment of every volume (default "main")
//   snapvol.io/commit-interval    background commits ("5s", "500ms", "0"/"off")
//   snapvol.io/create-if-missing  "true"/"false" (default false)
//   snapvol.io/version            N: every volume read-only at version N
//
// Everything here is written by whoever starts the container and is
// checked before anything is mounted: a bad value is InvalidArgument with
// one line naming the annotation, and nothing happens.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "driver/core/result.h"

namespace snapvol::hooks {

inline constexpr char kAnnotationVolumes[] = "snapvol.io/volumes";
inline constexpr char kAnnotationEnvironment[] = "snapvol.io/environment";
inline constexpr char kAnnotationCommitInterval[] = "snapvol.io/commit-interval";
inline constexpr char kAnnotationCreateIfMissing[] = "snapvol.io/create-if-missing";
inline constexpr char kAnnotationVersion[] = "snapvol.io/version";
inline constexpr char kAnnotationPrefix[] = "snapvol.io/";

struct VolumeRequest {
  std::string volume;
  // Absolute, normalised path inside the container ("/data"), never "/".
  std::string path;
  bool read_only = false;
};

struct HookRequest {
  std::vector<VolumeRequest> volumes;  // in annotation order
  std::string environment = "main";
  std::chrono::milliseconds commit_interval{5000};
  bool create_if_missing = false;
  uint64_t version = 0;  // 0 = newest, read-write unless :ro
};

// The request in `annotations`, or nullopt if there is no
// snapvol.io/volumes annotation (the container does not use snapvol).
// InvalidArgument for a malformed list, a bad name, a relative path or one
// with "..", "/" itself, two volumes at one path or one inside another, an
// unknown snapvol.io/ key, and bad values of the others.
core::Result<std::optional<HookRequest>> ParseAnnotations(
    const std::map<std::string, std::string>& annotations);

}  // namespace snapvol::hooks
