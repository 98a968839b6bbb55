// Uploader: `snapvol volume put`. Turns a local file or directory tree into
// ONE commit.
//
// Argument rules follow `modal volume put`: REMOTE defaults to "/"; a REMOTE
// ending in "/" gets basename(LOCAL) appended (so "dir/" uploads the
// directory's contents); a file put onto an existing remote directory goes
// inside it; a directory put merges into an existing remote directory.
// Without `force`, an existing remote file, symlink or non-directory in the
// way is an AlreadyExists error and nothing is uploaded; a remote directory
// is never replaced by a file, even with `force`.
//
// Directories keep permission bits, owner, mtimes, symlinks and empty
// directories; other special files are skipped with a warning. A LOCAL that
// is a FIFO or character device ("/dev/stdin") or "-" is streamed as one
// file.
//
// Hostile trees (issue 12): LOCAL is followed if it is a symlink (the user
// named it, as with `cp -r`) and opened once; everything below it is
// reached relative to directory fds and never through a symlink: each
// directory with openat(O_DIRECTORY|O_NOFOLLOW), each file with
// OpenBeneath. Whatever was opened is fstat'ed and must be the inode (and
// type) the walk listed; otherwise, or if a symlink turns up on the way,
// the put fails with "local path '...' changed while it was read" and
// nothing is committed. So the owner of a directory being put cannot swap
// a subdirectory for a symlink and have /etc/shadow uploaded.
//
// A regular file is fstat'ed through the same fd after it is read; if its
// size, mtime or ctime moved, it is read again (3 reads in all), then the
// put fails with "changed while it was read". The entry gets the mode,
// owner and mtime of the read that was kept. Streams are read once.
//
// Test hooks (the process stops itself with SIGSTOP so that a test can
// change the tree before it sends SIGCONT): with
// SNAPVOL_TEST_PAUSE_AFTER_WALK set, no file is read until the walk is
// done, then it stops once; with SNAPVOL_TEST_PAUSE_AFTER_READ set, it
// stops after each read of a regular file, before the fstat that checks it.
//
// File data streams through volume::FileWriter on a pool of reader threads
// (never a whole file in memory) that starts while the tree is still being
// walked; every file of a directory tree goes into a single ChangeSet, so a
// put of 100k files is one commit. Nothing is committed if any check or
// read fails. If the process
// dies before the commit lands, the head is unchanged; the objects already
// written are unreferenced and left to garbage collection.
#pragma once

#include <cstdint>
#include <string>

#include "driver/cli/unique_fd.h"
#include "driver/core/result.h"
#include "driver/volume/engine.h"

namespace snapvol::cli {

using core::Result;
using core::Status;

struct PutRequest {
  std::string local;   // as given on the command line; "-" = stdin
  std::string remote;  // as given; empty = "/"
  bool force = false;
};

struct PutResult {
  volume::CommitResult commit;
  std::string target;  // the remote path written, e.g. "/a/b"
  uint64_t files = 0, dirs = 0, symlinks = 0, skipped = 0;
  uint64_t bytes = 0;
};

class Uploader {
 public:
  // `where` is "volume 'x' in environment 'e'" for messages. `engine` must
  // outlive the uploader.
  Uploader(volume::Engine* engine, store::VolumeRecord volume, std::string where);
  ~Uploader();

  Result<PutResult> Put(const PutRequest& request);

 private:
  struct Item;
  struct Plan;
  class Pool;
  // Lists `dir` (owned; `rel_dir` is its path below LOCAL, "" for LOCAL).
  Status Walk(UniqueFd dir, const std::string& rel_dir, const volume::Path& remote_dir,
              const objects::Entry* remote_existing, Plan* plan);
  Status Conflict(const volume::Path& path, bool local_is_dir, const objects::Entry* existing,
                  bool* replace) const;
  // Adds an item; files are handed to the upload pool at once, so reading
  // overlaps the rest of the walk.
  void Add(Item item, Plan* plan);

  volume::Engine* engine_;
  store::VolumeRecord volume_;
  std::string where_;
  bool force_ = false;
};

}  // namespace snapvol::cli
