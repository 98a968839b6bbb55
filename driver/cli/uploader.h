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
  Status Walk(const std::string& local_dir, const volume::Path& remote_dir,
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
