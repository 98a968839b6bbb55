// The mount verbs of `snapvol`: mount, unmount, commit, reload, status,
// recover (docs/semantics.md "Interfaces", docs/cli.md "Mounts"). They are
// thin: validate the arguments, call the mount API (driver/fs/mount.h), print
// the result.
//
// Error convention (context.h): only what the CLI itself rejects — invalid
// names, a malformed duration, a bad --version — is a usage error (exit 2).
// Everything the mount layer reports, including "'/x' is not a snapvol
// mount" and a missing mountpoint, is an operation failure (exit 1) whose
// message names the path.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "driver/cli/context.h"

namespace CLI {
class App;
}  // namespace CLI

namespace snapvol::cli {

// Registers mount, unmount, commit, reload, status and recover on `app`;
// the chosen one sets `action`. The parsed arguments live as long as the
// callbacks and `action` do.
void AddMountCommands(CLI::App& app, std::function<Status(Context&)>& action);

struct MountRequest {
  std::string volume;
  std::string mountpoint;
  std::string commit_interval = "5s";  // ParseDuration syntax
  bool read_only = false;
  uint64_t version = 0;  // 0 = newest; N >= 1 pins version N (read-only)
  bool version_given = false;
  bool foreground = false;
  // recover: one mount's state, into another volume or discarded.
  std::string recover_into, recover_discard, recover_export, mount_id;
};

// "500ms", "5s", "2m", "1h" (a whole number and a unit), or "0" / "off"
// (zero: background commits disabled). Anything else — no unit, a negative
// or fractional number, an unknown unit, an overflow — is a usage error
// naming the text.
Result<std::chrono::milliseconds> ParseDuration(const std::string& text);
// The inverse for display: 0 → "off", 5000 → "5s", 1500 → "1500ms".
std::string FormatDuration(int64_t ms);

// Mounts the volume of ctx's environment at `mountpoint` and returns once
// the kernel mount is ready; the server runs detached and outlives the
// process. With `foreground`, serves in this process until the file system
// is unmounted or the process gets SIGTERM/SIGINT/SIGHUP, then makes the
// final commit (a failure of it is exit 1). Refuses a mountpoint that
// already holds a snapvol mount.
Status MountCommand(Context& ctx, const MountRequest& request);
// Commits what is pending, unmounts and waits for the server to exit. A
// failed final commit is reported (exit 1) after the unmount; the changes
// stay in the state directory for `snapvol recover`. A mount whose server
// is gone (ENOTCONN) is detached and `recover` is suggested.
Status UnmountCommand(Context& ctx, const std::string& mountpoint);
// Commits the mount's pending changes now; prints the version that landed.
Status CommitCommand(Context& ctx, const std::string& mountpoint);
// Moves the mount to the volume's newest commit; prints the version.
Status ReloadCommand(Context& ctx, const std::string& mountpoint);
// Prints the mount's status (ctx.json(): the status JSON of the mount).
Status StatusCommand(Context& ctx, const std::string& mountpoint);
// Commits what crashed mount servers of ctx's store left pending on this
// host (S9) and prints each mount it handled; exit 1 if any could not be
// recovered (it is left in place). Dead kernel mounts they leave behind are
// detached.
Status RecoverCommand(Context& ctx);
// One dead mount `mount_id` that `recover` cannot finish (its volume was
// deleted): commits its pending changes into volume `into` of ctx's
// environment, or with `into` empty drops them for good.
Status RecoverOneCommand(Context& ctx, const std::string& mount_id, const std::string& into);
// Like RecoverOneCommand into a new volume "recovered-MOUNT_ID" (kept),
// whose files are then written to local directory `dir` (volume get).
Status RecoverExportCommand(Context& ctx, const std::string& mount_id, const std::string& dir);

}  // namespace snapvol::cli
