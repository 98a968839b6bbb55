// snapvol-hook's two stages (docs/oci.md):
//
//   createRuntime (or prestart)  checks every volume with the agent, mounts a
//       FUSE connection for each into the container's mount namespace and
//       hands it to the agent, which serves it; returns once every mount
//       answers. On any failure nothing stays: mounts are undone, created
//       directories removed, started servers end (their connection is gone).
//   poststop  asks the agent to wait for the final commits of the
//       container's mounts; a commit that did not land is an error (the
//       changes stay for `snapvol recover`).
//
// A container without snapvol.io/volumes is none of the hook's business:
// exit 0 at once. Errors are one line on stderr and a non-zero exit, which
// makes the runtime refuse to start the container.
#pragma once

#include <string>

#include "driver/core/result.h"
#include "hooks/oci_state.h"

namespace snapvol::hooks {

struct HookOptions {
  // "createRuntime", "prestart" or "poststop"; "" = from the state's
  // status ("creating"/"created": createRuntime, "stopped": poststop).
  std::string stage;
  std::string agent_socket;
  int64_t poststop_timeout_ms = 10 * 60 * 1000;
};

// Runs a stage for the container described by `state_json` (the OCI state
// on stdin). The bundle's config.json supplies the rootfs and, when the
// state carries none, the annotations.
core::Status RunHook(const HookOptions& options, const std::string& state_json);

}  // namespace snapvol::hooks
