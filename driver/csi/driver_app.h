// The snapvol-driver command: flags, wiring of store, engine, registry,
// mounter and server, and signal handling. driver/cmd/snapvol_driver_main.cc
// only calls RunDriver.
//
//   snapvol-driver --endpoint unix:///csi/csi.sock --node-id ID
//                  --mode controller|node|all --store SPEC [--state-dir DIR]
//
// SIGTERM/SIGINT stop serving and exit 0; mount servers keep running (they
// are separate processes and are found again by the next driver).
#pragma once

namespace snapvol::csi {

// Returns the process exit code.
int RunDriver(int argc, char** argv);

}  // namespace snapvol::csi
