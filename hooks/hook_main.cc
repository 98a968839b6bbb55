// snapvol-hook: the OCI runtime hook (docs/oci.md).
//
//   snapvol-hook [createRuntime|prestart|poststop] [--agent-socket PATH]
//
// Without a stage, the OCI state's status says which one it is (one
// hooks.d entry for both stages, hooks/oci-hooks.d/snapvol.json).
// The OCI state arrives on stdin. $SNAPVOL_AGENT_SOCKET also names the
// agent's socket. Single-threaded on purpose (hook.h).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "driver/agent/agent_protocol.h"
#include "hooks/hook.h"
#include "hooks/oci_state.h"

int main(int argc, char** argv) {
  snapvol::hooks::HookOptions options;
  options.agent_socket = snapvol::agent::kDefaultSocket;
  if (const char* env = std::getenv("SNAPVOL_AGENT_SOCKET"); env != nullptr && *env != '\0') {
    options.agent_socket = env;
  }
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--agent-socket") == 0 && i + 1 < argc) {
      options.agent_socket = argv[++i];
    } else if (argv[i][0] != '-' && options.stage.empty()) {
      options.stage = argv[i];
    } else {
      std::fprintf(stderr,
                   "snapvol-hook: unexpected argument '%s'\nusage: snapvol-hook "
                   "[createRuntime|prestart|poststop] [--agent-socket PATH]\n",
                   argv[i]);
      return 2;
    }
  }
  auto state = snapvol::hooks::ReadBoundedFd(STDIN_FILENO, snapvol::hooks::kMaxStateBytes,
                                             "the OCI state on stdin");
  snapvol::core::Status st = state.ok() ? snapvol::hooks::RunHook(options, *state) : state.status();
  if (!st.ok()) {
    std::fprintf(stderr, "snapvol-hook%s%s: %s\n", options.stage.empty() ? "" : " ",
                 options.stage.c_str(), st.message().c_str());
    return 1;
  }
  return 0;
}
