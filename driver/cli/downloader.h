// Downloader: `snapvol volume get`. Copies a file or directory tree out of
// one snapshot of a volume, or streams one file to stdout.
//
// Argument rules follow `modal volume get`: LOCAL defaults to "."; "-"
// streams a file to stdout; if LOCAL is an existing directory the item is
// created inside it (the volume root's *contents* go straight into it);
// otherwise the item is created as LOCAL. Directories are merged into
// existing local directories; an existing local file is an AlreadyExists
// error unless `force`. Every conflict is checked before anything is written.
//
// Safety: below LOCAL, every step is openat(2)/mkdirat/renameat relative to
// a directory fd opened with O_NOFOLLOW, so no symlink inside the
// destination is ever followed: an existing symlink where a file or
// directory would go is an error, even with `force`, and nothing outside
// LOCAL is touched. (LOCAL itself and its parents, as the user typed them,
// may be symlinks.) Files are written to a temporary name in their final
// directory and renamed into place, so an interrupted get never leaves a
// partial file under the final name; SIGINT/SIGTERM/SIGHUP remove the
// temporary file. File data goes through FileReader::ReadAllUnordered
// (chunks read, verified and pwritten by worker threads in parallel; holes
// left unwritten in the ftruncated file) or, for stdout, ReadAll. Every
// chunk is verified (S10) before it is written: a corrupt object is an
// error naming the path, and the temporary file is removed.
#pragma once

#include <cstdint>
#include <string>

#include "driver/core/result.h"
#include "driver/volume/engine.h"

namespace snapvol::cli {

using core::Result;
using core::Status;

struct GetRequest {
  std::string remote;
  std::string local;  // empty = "."; "-" = stdout
  bool force = false;
};

struct GetResult {
  std::string written_to;  // local path of the item ("-" for stdout)
  uint64_t files = 0, dirs = 0, symlinks = 0, skipped = 0;
  uint64_t bytes = 0;
};

class Downloader {
 public:
  // Reads from `snap`, a snapshot of `volume`. `where` is "volume 'x' in
  // environment 'e'" for messages. `engine` must outlive the downloader.
  Downloader(volume::Engine* engine, const volume::Snapshot& snap, std::string where);
  ~Downloader();

  Result<GetResult> Get(const GetRequest& request);

 private:
  struct Node;
  Status Plan(int dirfd, const std::string& name, const objects::Entry& entry,
              const std::string& shown, const std::string& remote, Node* node);
  Status PlanChildren(int dirfd, const std::string& shown, const std::string& remote, Node* node);
  Status Write(int dirfd, const std::string& name, const std::string& shown,
               const std::string& remote, const Node& node);
  Status WriteChildren(int dirfd, const std::string& shown, const std::string& remote,
                       const Node& node);
  Status WriteFile(int dirfd, const std::string& name, const std::string& shown,
                   const std::string& remote, const Node& node);
  Status CheckTarget(int dirfd, const std::string& name, const std::string& shown,
                     bool symlink_ok) const;
  Status Stream(const objects::Entry& entry, const std::string& remote);
  Status RemoteError(const Status& status, const std::string& remote) const;

  volume::Engine* engine_;
  volume::Snapshot snap_;
  std::string where_;
  bool force_ = false;
  class Progress* progress_ = nullptr;
  GetResult result_;
};

}  // namespace snapvol::cli
