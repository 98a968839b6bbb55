// Env: every file-system call the store makes goes through this interface so
// tests can inject ENOSPC, EIO and crashes between any two steps
// (see FaultEnv). Errors are converted from errno exactly once, in PosixEnv.
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "driver/core/result.h"

namespace snapvol::core {

// A file being written sequentially. Not thread-safe; one writer at a time.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  // Asks the kernel to start writing back what was appended so far, without
  // waiting; lets a later Sync() of many files overlap their I/O.
  virtual Status StartWriteback() = 0;
  // Makes the appended data durable (fdatasync).
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
};

// A file read at arbitrary offsets. Thread-safe.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to `n` bytes at `offset` into `scratch`; returns bytes read (0 at EOF).
  virtual Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const = 0;
  virtual Result<uint64_t> Size() const = 0;
};

// An advisory lock on a file (flock(2); exclusive unless taken with
// LockFileShared), held until this object is destroyed. The kernel drops it when the holding
// process dies, so a crashed holder never leaves it stuck; other processes can therefore probe
// whether the holder is still alive.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide real file system. Never deleted.
  static Env* Default();

  // Files and directories an Env creates are owner-only (0600 / 0700,
  // whatever the umask): they hold volume data or say where it is.
  //
  // Creates or truncates `path` for writing.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  // Like NewWritableFile, for large write-once files: appended data goes to
  // the disk without being copied into the page cache (O_DIRECT through an
  // internal aligned buffer) where the file system supports it, and through
  // the page cache otherwise. Same contract as NewWritableFile: Close() (or
  // Sync()) leaves the file exactly as long as the data appended, and Sync()
  // is still needed for durability (metadata and the disk's cache).
  virtual Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;
  // Reads a whole file. NotFound if absent.
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // Atomically replaces `to` with `from` (rename(2)).
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // NotFound if absent.
  virtual Status RemoveFile(const std::string& path) = 0;
  // Creates a directory; ok if it already exists.
  virtual Status CreateDir(const std::string& path) = 0;
  // Creates a directory and its parents; ok if they exist.
  virtual Status CreateDirs(const std::string& path) = 0;
  // fsync of a directory, making renames/creates in it durable.
  virtual Status SyncDir(const std::string& path) = 0;
  virtual Result<bool> FileExists(const std::string& path) = 0;
  // Names in a directory, without "." and "..". NotFound if absent.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  // Makes the data of an already written (and possibly closed) file durable:
  // open + fdatasync. NotFound if absent.
  virtual Status SyncFile(const std::string& path) = 0;
  // syncfs(2) of the file system holding `path`: one call that makes every
  // file's data and every directory change on it durable. Cheaper than many
  // SyncFile() calls, but also writes back other processes' dirty data.
  virtual Status SyncFilesystem(const std::string& path) = 0;
  // Takes an exclusive lock on `path`, creating the file if absent, without
  // waiting: Unavailable if anyone else holds it (another process, or another
  // FileLock of this process). On success the lock is on the file currently
  // named `path`; a file unlinked by a previous holder is never returned.
  virtual Result<std::unique_ptr<FileLock>> TryLockFile(const std::string& path) = 0;
  // Takes a shared lock on `path`, creating the file if absent, waiting as
  // long as anyone holds it exclusively (TryLockFile). Only for files that
  // are never unlinked: the name is not re-checked.
  virtual Result<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) = 0;
  // Wall-clock time in nanoseconds since the Unix epoch.
  virtual int64_t NowNanos() = 0;
};

// Forwards every call to a target Env; subclass to override a few.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& p) override {
    return target_->NewWritableFile(p);
  }
  Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(const std::string& p) override {
    return target_->NewDirectWritableFile(p);
  }
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& p) override {
    return target_->NewRandomAccessFile(p);
  }
  Result<std::string> ReadFile(const std::string& p) override { return target_->ReadFile(p); }
  Status RenameFile(const std::string& f, const std::string& t) override {
    return target_->RenameFile(f, t);
  }
  Status RemoveFile(const std::string& p) override { return target_->RemoveFile(p); }
  Status CreateDir(const std::string& p) override { return target_->CreateDir(p); }
  Status CreateDirs(const std::string& p) override { return target_->CreateDirs(p); }
  Status SyncDir(const std::string& p) override { return target_->SyncDir(p); }
  Result<bool> FileExists(const std::string& p) override { return target_->FileExists(p); }
  Result<std::vector<std::string>> ListDir(const std::string& p) override {
    return target_->ListDir(p);
  }
  Result<uint64_t> FileSize(const std::string& p) override { return target_->FileSize(p); }
  Status SyncFile(const std::string& p) override { return target_->SyncFile(p); }
  Status SyncFilesystem(const std::string& p) override { return target_->SyncFilesystem(p); }
  Result<std::unique_ptr<FileLock>> TryLockFile(const std::string& p) override {
    return target_->TryLockFile(p);
  }
  Result<std::unique_ptr<FileLock>> LockFileShared(const std::string& p) override {
    return target_->LockFileShared(p);
  }
  int64_t NowNanos() override { return target_->NowNanos(); }

 private:
  Env* target_;
};

}  // namespace snapvol::core
