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
//
// Owners and modes (the rules of tar's --same-owner): by default every
// file, directory and symlink created is owned by the invoking user, and
// set-uid/set-gid bits are dropped from the stored mode, so a get run as
// root never turns a file someone else stored into a root-owned set-uid
// binary. With `same_owner` the stored uid/gid are restored (fchown, which
// needs root for a foreign owner; a failure is an error) and then the full
// stored mode, set-uid/set-gid included. Existing directories that are
// merged into keep their owner and mode. The umask is not applied.
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
  bool same_owner = false;  // restore stored owners and set-uid/set-gid bits
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
  // Restores what the owner rules above allow on a created item: `fd` is
  // the item, or -1 to act on the symlink `name` in `dirfd`.
  Status SetOwnerAndMode(int fd, int dirfd, const std::string& name, const objects::Entry& e,
                         const std::string& shown) const;
  Status CheckTarget(int dirfd, const std::string& name, const std::string& shown,
                     bool symlink_ok) const;
  Status Stream(const objects::Entry& entry, const std::string& remote);
  Status RemoteError(const Status& status, const std::string& remote) const;

  volume::Engine* engine_;
  volume::Snapshot snap_;
  std::string where_;
  bool force_ = false;
  bool same_owner_ = false;
  class Progress* progress_ = nullptr;
  GetResult result_;
};

}  // namespace snapvol::cli
