// snapvol-mount: the mount server process that fs::Mount() starts (fork +
// exec, so the server never inherits its caller's state). Not meant to be
// run by hand; `snapvol mount --foreground` serves in the foreground.
//
//   snapvol-mount --ready-fd FD --options JSON
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "driver/fs/control_json.h"
#include "driver/fs/mount.h"

int main(int argc, char** argv) {
  int ready_fd = -1;
  std::string options;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--ready-fd") == 0) {
      ready_fd = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--options") == 0) {
      options = argv[i + 1];
    }
  }
  auto decoded = snapvol::fs::DecodeMountOptions(options);
  if (!decoded.ok()) {
    std::fprintf(stderr, "snapvol-mount: %s\n", decoded.status().ToString().c_str());
    if (ready_fd >= 0) {
      const std::string msg = "ERR " + std::to_string(static_cast<int>(decoded.status().code())) +
                              " 0 " + decoded.status().message() + "\n";
      if (::write(ready_fd, msg.data(), msg.size()) < 0) return 2;
    }
    return 2;
  }
  return snapvol::fs::RunMountServer(*decoded, ready_fd);
}
