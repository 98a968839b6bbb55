// The `snapvol` command line (docs/semantics.md "Interfaces"). Run() parses
// the arguments (CLI11), runs one command and returns the process exit code:
//   0  success
//   1  the operation failed (not found, already exists, limit, corruption,
//      I/O, lost races)
//   2  usage error (unknown flags, invalid names or paths, a destructive
//      command without confirmation)
// Errors go to stderr as "snapvol: <message>", where the message names the
// environment, volume and path involved. No exception escapes Run().
#pragma once

namespace snapvol::cli {

int Run(int argc, char** argv);

}  // namespace snapvol::cli
