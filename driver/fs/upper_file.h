// UpperFile: the node-local copy of a file the mount has written (S9's
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
// Descriptors: a file keeps its descriptor only while someone uses it (a
// Use) or while it is among the most recently used idle ones; a process-wide
// pool closes the least recently used idle descriptors beyond a quarter of
// RLIMIT_NOFILE and they are reopened on the next use. A job may write
// 100k files between commits without running the server out of descriptors.
// An unlinked file (still open by the application) keeps its descriptor.
//
// I/O goes through a core::Env RandomRWFile (tests pass a FaultEnv); the
// descriptor itself (Use::fd()) is handed out only for what needs a real one:
// splicing FUSE reads and writes, copy-up from chunk files. Sync() makes the
// bytes and, the first time, the file's name durable; a failed Sync stays
// failed (Linux reports a failed write-back once: a later success would not
// mean the earlier bytes are on disk).
//
// Thread-safe (pread/pwrite on one descriptor; counters are atomic).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "driver/core/env.h"
#include "driver/core/monotonic_clock.h"
#include "driver/core/result.h"
#include "driver/fs/upper_stream.h"
#include "driver/store/object_store.h"
#include "snapvol_objects.pb.h"

namespace snapvol::fs {

using core::Result;
using core::Status;

class UpperFile {
 public:
  // Creates `path` (must not exist), empty. `env` must outlive the file.
  static Result<std::shared_ptr<UpperFile>> Create(const std::string& path, uint64_t id,
                                                   core::Env* env = core::Env::Default());
  // Opens an existing upper file (recovery). NotFound if absent.
  static Result<std::shared_ptr<UpperFile>> Open(const std::string& path, uint64_t id,
                                                 core::Env* env = core::Env::Default());
  ~UpperFile();
  UpperFile(const UpperFile&) = delete;
  UpperFile& operator=(const UpperFile&) = delete;

  // Keeps the file's descriptor open while alive.
  class Use {
   public:
    Use(Use&& o) noexcept : f_(o.f_), file_(o.file_) { o.f_ = nullptr; }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;
    Use& operator=(Use&&) = delete;
    ~Use() {
      if (f_ != nullptr) f_->Release();
    }
    int fd() const { return file_->fd(); }
    // Writes all of `data` at `off` (a write for snapshot purposes: call it
    // inside a WriteScope). Large block-aligned spans go through a second,
    // O_DIRECT descriptor: copying into fresh page-cache pages is the main
    // cost of a big write (measured: ~60% of the server's CPU), and the
    // commit reads the bytes back once anyway. The rest is written buffered.
    Result<size_t> Pwrite(std::string_view data, uint64_t off) const {
      return f_->PwriteAt(*file_, data, off);
    }
    // The caller changes the bytes through fd() itself: no streaming.
    void WritesRaw() const { f_->DropStream(); }

   private:
    friend class UpperFile;
    Use(const UpperFile* f, core::RandomRWFile* file) : f_(f), file_(file) {}
    const UpperFile* f_;
    core::RandomRWFile* file_;
  };
  // The descriptor, reopened if the pool closed it.
  Result<Use> Acquire() const;

  uint64_t id() const { return id_; }
  const std::string& path() const { return path_; }

  class WriteScope {
   public:
    explicit WriteScope(UpperFile* f) : f_(f) { f_->inflight_.fetch_add(1); }
    ~WriteScope() {
      f_->version_.fetch_add(1);
      f_->last_write_ns_.store(core::MonotonicNanos());
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

  // Streaming commit: a new file written front to back in big writes is
  // chunked, hashed and stored into `objects` as the writes arrive (on the
  // FileWriter's workers), so a commit finds its content ready instead of
  // reading the file back; the bytes still land in the upper file too (S9).
  // Any other kind of change (a write elsewhere, a truncate) drops the
  // stream and the commit reads the file as before. At most kMaxStreams
  // files stream at once (each holds a few chunks of memory). Call right
  // after Create, before any write. `objects` must outlive the file.
  static constexpr int kMaxStreams = 4;
  void EnableStreaming(store::ObjectStore* objects) { stream_store_ = objects; }
  // Finishes a stream (the last writer closed the file): frees its memory
  // and keeps the content for the next commit. Call without the view's lock:
  // it waits for the last chunks to be stored.
  void SealStream();

  Result<uint64_t> Size() const;
  // Waits until no write has touched the file for `quiet_ns`, or until
  // `deadline_ns` (monotonic clock); returns whether it went quiet.
  bool WaitQuiet(int64_t quiet_ns, int64_t deadline_ns) const;
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

  // Removes the file name; the descriptor stays open (and usable through
  // Acquire) until destruction.
  void Unlink();

  // Descriptors currently open by all upper files of this process (tests).
  static size_t OpenDescriptors();

 private:
  friend class UpperFilePool;
  UpperFile(core::Env* env, std::unique_ptr<core::RandomRWFile> file, uint64_t id, std::string path)
      : env_(env), file_(std::move(file)), id_(id), path_(std::move(path)) {}
  static std::shared_ptr<UpperFile> Adopt(core::Env* env, std::unique_ptr<core::RandomRWFile> file,
                                          const std::string& path, uint64_t id);
  Result<Snap> ReadInto(store::ObjectStore* objects);
  Result<size_t> PwriteAt(core::RandomRWFile& file, std::string_view data, uint64_t off) const;
  // The O_DIRECT twin of the file (opened on first use, see
  // RandomRWFile::OpenDirect), or null where the file system refuses direct
  // I/O. Call while holding a Use.
  core::RandomRWFile* Direct() const;
  void NoDirectIo() const;
  // Streaming (see EnableStreaming); stream_mu_ guards the stream fields.
  void Feed(const core::RandomRWFile& file, std::string_view data, uint64_t off) const;
  void DropStream() const;
  void DropStreamLocked() const;
  void SealLocked() const;
  std::optional<Snap> TakeSealed();
  void Release() const;
  // Closes the descriptor if nobody uses it and the file is not unlinked.
  void CloseIfIdle() const;

  core::Env* const env_;
  mutable std::mutex fd_mu_;
  mutable std::unique_ptr<core::RandomRWFile> file_;    // null while closed by the pool; fd_mu_
  mutable int uses_ = 0;                                // guarded by fd_mu_
  mutable std::unique_ptr<core::RandomRWFile> direct_;  // guarded by fd_mu_; closed with file_
  mutable bool direct_off_ = false;                     // guarded by fd_mu_: no direct I/O here
  bool pinned_ = false;  // unlinked: never closed early; guarded by fd_mu_
  // Serializes Sync (never held with fd_mu_, which writers take).
  std::mutex sync_mu_;
  bool named_ = false;  // guarded by sync_mu_: its directory was synced
  Status sync_error_;   // guarded by sync_mu_: a failed Sync, for good
  const uint64_t id_;
  const std::string path_;
  std::atomic<uint64_t> inflight_{0};
  std::atomic<uint64_t> version_{0};
  std::atomic<int64_t> last_write_ns_{0};
  std::atomic<int> writers_{0};

  store::ObjectStore* stream_store_ = nullptr;
  mutable std::mutex stream_mu_;
  mutable std::unique_ptr<UpperStream> stream_;  // guarded by stream_mu_
  mutable uint64_t stream_end_ = 0;              // bytes fed; guarded by stream_mu_
  mutable std::optional<Snap> sealed_;           // guarded by stream_mu_
  mutable uint64_t sealed_version_ = 0;          // version_ when sealed_
};

}  // namespace snapvol::fs
