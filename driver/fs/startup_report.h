// StartupReport: how a mount server tells the process that started it
// whether the mount came up, over the "ready" pipe (mount.h Mount()). One
// line: "OK\n", or "ERR <code> <errno> <message>\n". The client reads the
// pipe to its end: a server that dies before it writes is reported as such.
#pragma once

#include <string>

#include "driver/core/status.h"

namespace snapvol::fs {

std::string EncodeStartup(const core::Status& status);

// The Status a ready-pipe message stands for. An empty or unparsable message
// (the server died first) is Internal and says so.
core::Status DecodeStartup(const std::string& message);

// Writes `status` to `fd` (EINTR retried, other errors ignored: the reader
// then sees a server that died).
void WriteStartup(int fd, const core::Status& status);

}  // namespace snapvol::fs
