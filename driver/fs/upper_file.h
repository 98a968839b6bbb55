// UpperFile: the node-local copy of a file the mount has written (design
// "write layer"): a sparse file under the mount's data/ directory holding the
// file's whole current content. New and truncated files start empty; a
// committed file is copied up (holes stay holes) on its first write-open.
//
// Every change of the bytes is bracketed by a WriteScope so a commit can take
// a consistent snapshot without blocking writers (S5): Snapshot() reads the
// file and accepts the result only if no write was in flight or completed
// meanwhile; otherwise it retries and finally gives up ("changed"), leaving
// the file for the next commit. The file is never committed torn. Whether a
// file still open for writing is committed at all is the committer's call
// (mount_server.h), helped by WaitQuiet().
//
// Thread-safe (pread/pwrite on one descriptor; counters are atomic).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "driver/core/result.h"
#include "driver/store/object_store.h"
#include "snapvol_objects.pb.h"

namespace snapvol::fs {

using core::Result;
using core::Status;

class UpperFile {
 public:
  // Creates `path` (must not exist), empty.
  static Result<std::shared_ptr<UpperFile>> Create(const std::string& path, uint64_t id);
  // Opens an existing upper file (recovery). NotFound if absent.
  static Result<std::shared_ptr<UpperFile>> Open(const std::string& path, uint64_t id);
  ~UpperFile();
  UpperFile(const UpperFile&) = delete;
  UpperFile& operator=(const UpperFile&) = delete;

  int fd() const { return fd_; }
  uint64_t id() const { return id_; }
  const std::string& path() const { return path_; }

  class WriteScope {
   public:
    explicit WriteScope(UpperFile* f) : f_(f) { f_->inflight_.fetch_add(1); }
    ~WriteScope() {
      f_->version_.fetch_add(1);
      f_->last_write_ns_.store(MonotonicNanos());
      f_->inflight_.fetch_sub(1);
    }
    WriteScope(const WriteScope&) = delete;
    WriteScope& operator=(const WriteScope&) = delete;

   private:
    UpperFile* f_;
  };

  // Open handles that may write (maintained by the View).
  void AddWriter() { writers_.fetch_add(1); }
  void RemoveWriter() { writers_.fetch_sub(1); }
  int writers() const { return writers_.load(); }

  Result<uint64_t> Size() const;
  // Waits until no write has touched the file for `quiet_ns`, or until
  // `deadline_ns` (monotonic clock); returns whether it went quiet.
  bool WaitQuiet(int64_t quiet_ns, int64_t deadline_ns) const;
  static int64_t MonotonicNanos();
  // Sets the length (truncate or zero-extend); a write for snapshot purposes.
  Status Truncate(uint64_t size);
  Status Sync();

  struct Snap {
    objects::Content content;
    uint64_t size = 0;
  };
  // Chunks the current content into `objects` (FileWriter; holes stay
  // holes). nullopt if the file changed during each of `attempts` reads.
  Result<std::optional<Snap>> Snapshot(store::ObjectStore* objects, int attempts);

  // Removes the file name; the descriptor stays usable until destruction.
  void Unlink();

 private:
  UpperFile(int fd, uint64_t id, std::string path) : fd_(fd), id_(id), path_(std::move(path)) {}
  Result<Snap> ReadInto(store::ObjectStore* objects);

  const int fd_;
  const uint64_t id_;
  const std::string path_;
  std::atomic<uint64_t> inflight_{0};
  std::atomic<uint64_t> version_{0};
  std::atomic<int64_t> last_write_ns_{0};
  std::atomic<int> writers_{0};
};

}  // namespace snapvol::fs
