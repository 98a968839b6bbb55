// snapvol-mount: the mount server process that fs::Mount() starts (fork +
// exec, so the server never inherits its caller's state), or that
// `snapvol mount --foreground` becomes (exec). Not meant to be run by hand.
//
//   snapvol-mount --ready-fd FD --options JSON [--foreground]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "driver/fs/control_json.h"
#include "driver/fs/run_mount_server.h"
#include "driver/fs/startup_report.h"

int main(int argc, char** argv) {
  snapvol::fs::ServeOptions serve;
  std::string options;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--foreground") == 0) {
      serve.foreground = true;
    } else if (i + 1 < argc && std::strcmp(argv[i], "--ready-fd") == 0) {
      serve.ready_fd = std::atoi(argv[++i]);
    } else if (i + 1 < argc && std::strcmp(argv[i], "--options") == 0) {
      options = argv[++i];
    }
  }
  auto decoded = snapvol::fs::DecodeMountOptions(options);
  if (!decoded.ok()) {
    std::fprintf(stderr, "snapvol-mount: %s\n", decoded.status().ToString().c_str());
    if (serve.ready_fd >= 0) snapvol::fs::WriteStartup(serve.ready_fd, decoded.status());
    return 2;
  }
  return snapvol::fs::RunMountServer(*decoded, serve);
}
