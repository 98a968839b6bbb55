// Env: every file-system call the store and the mount's durable state
// (journal, upper files, file cache) make goes through this interface so
// tests can inject ENOSPC, EIO, failed fsyncs and crashes between any two
// steps (see FaultEnv). Errors are converted from errno exactly once, in
// PosixEnv (the table is core/errno_code.h).
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

// How Env::NewRandomRWFile opens a file.
enum class OpenMode {
  kCreateNew,     // create; AlreadyExists if the name exists
  kOpenExisting,  // NotFound if absent
  kOpenOrCreate,  // create if absent, never truncate
  kReadOnly,      // an existing file, for reading; NotFound if absent
};

// A file read and written at arbitrary offsets: the mount's journal, upper
// files and file cache copies. Thread-safe (positional calls on one
// descriptor). The two Some calls are one system call each, so the data path
// costs what pread/pwrite cost plus a virtual call.
class RandomRWFile {
 public:
  virtual ~RandomRWFile() = default;
  // One pwrite(2), retried on EINTR: the bytes written, which may be fewer
  // than data.size() (a disk filling up, a signal).
  virtual Result<size_t> WriteSome(uint64_t offset, std::string_view data) = 0;
  // One copy_file_range(2), retried on EINTR: up to `len` bytes at
  // `in_offset` of the descriptor `in` to `offset` of this file, copied in
  // the kernel; the bytes copied, 0 at the end of `in`. Where the kernel
  // cannot (EXDEV, EINVAL, ENOSYS, EOPNOTSUPP, EPERM) the caller copies
  // through memory.
  virtual Result<size_t> CopySomeFrom(int in, uint64_t in_offset, uint64_t offset, size_t len) = 0;
  // One pread(2), retried on EINTR: the bytes read, 0 at the end of the file.
  virtual Result<size_t> ReadSome(uint64_t offset, size_t n, char* scratch) const = 0;
  // Sets the length (ftruncate): cuts, or extends with a hole.
  virtual Status Truncate(uint64_t size) = 0;
  // Makes the written data durable (fdatasync). A file created by this Env
  // also needs Env::SyncDir of its directory for its name to survive a
  // power loss. After a failed Sync nothing written before it is known to
  // be durable, even if a later Sync succeeds: Linux marks the pages whose
  // write-back failed clean and reports the error once. Callers must keep
  // reporting the failure rather than trust the next success.
  virtual Status Sync() = 0;
  virtual Result<uint64_t> Size() const = 0;
  // fsetxattr(2) / fchmod(2).
  virtual Status SetXattr(const std::string& name, std::string_view value) = 0;
  virtual Status Chmod(uint32_t mode) = 0;
  // A second handle on the same open file that bypasses the page cache
  // (O_DIRECT, reopened through /proc/self/fd so it works for an unlinked
  // file): offsets, lengths and buffers must be 4 KiB aligned. An error
  // carrying EINVAL where the file system refuses direct I/O (as may its
  // writes later, with EINVAL).
  virtual Result<std::unique_ptr<RandomRWFile>> OpenDirect() const = 0;
  // The descriptor, for what only a real one can do: splice to and from
  // /dev/fuse, FUSE passthrough backing files, copy_file_range, SEEK_DATA,
  // fstat and xattr reads. Valid while this object lives. Bytes written
  // through it bypass the Env's write faults (ENOSPC, a crash step), but
  // not its Sync and crash model: FaultEnv still sees them when the file is
  // synced and drops them in a crash if they were not.
  virtual int fd() const = 0;

  // Writes all of `data` at `offset` (WriteSome until done). On an error a
  // prefix of `data` may have been written.
  Status Write(uint64_t offset, std::string_view data);
  // Reads `n` bytes at `offset` (ReadSome until done); fewer only at the end
  // of the file.
  Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const;
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
  // Opens `path` for positional reads and writes (see OpenMode); created
  // files are 0600.
  virtual Result<std::unique_ptr<RandomRWFile>> NewRandomRWFile(const std::string& path,
                                                                OpenMode mode) = 0;
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
  Result<std::unique_ptr<RandomRWFile>> NewRandomRWFile(const std::string& p, OpenMode m) override {
    return target_->NewRandomRWFile(p, m);
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
