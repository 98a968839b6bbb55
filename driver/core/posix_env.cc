// The real Env on POSIX system calls: the one place store I/O errno values
// become Status.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "driver/core/env.h"

namespace snapvol::core {
namespace {

class PosixWritableFile : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "write " + path_);
      }
      data.remove_prefix(static_cast<size_t>(n));
      written_ += static_cast<uint64_t>(n);
    }
    return Status::Ok();
  }

  Status StartWriteback() override {
    // Best effort: a failure here only loses the overlap, Sync() still syncs.
    (void)::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
    return Status::Ok();
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) return Status::FromErrno(errno, "fdatasync " + path_);
    return Status::Ok();
  }

  Status Close() override {
    int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0) return Status::FromErrno(errno, "close " + path_);
    return Status::Ok();
  }

 private:
  std::string path_;
  int fd_;
  uint64_t written_ = 0;
};

constexpr size_t kDirectAlign = 4096;          // covers every logical block size
constexpr size_t kDirectBufferSize = 4 << 20;  // one I/O per (max-size) chunk
constexpr size_t kMaxPooledDirectBuffers = 4;

// Aligned bounce buffers for direct I/O, reused across files: copying into
// a warm buffer is far cheaper than touching fresh memory for every file.
class DirectBufferPool {
 public:
  static DirectBufferPool& Instance() {
    static auto* pool = new DirectBufferPool();
    return *pool;
  }
  char* Take() {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!free_.empty()) {
        char* b = free_.back();
        free_.pop_back();
        return b;
      }
    }
    void* p = nullptr;
    if (::posix_memalign(&p, kDirectAlign, kDirectBufferSize) != 0) return nullptr;
    return static_cast<char*>(p);
  }
  void Give(char* b) {
    std::lock_guard<std::mutex> l(mu_);
    if (free_.size() < kMaxPooledDirectBuffers) {
      free_.push_back(b);
    } else {
      std::free(b);
    }
  }

 private:
  std::mutex mu_;
  std::vector<char*> free_;
};

// Writes through O_DIRECT: appended bytes are gathered in an aligned buffer
// and written in aligned blocks; the last partial block is written
// zero-padded and the file then truncated to its exact length. If the file
// system rejects an O_DIRECT write (EINVAL), O_DIRECT is dropped and the
// same bytes go through the page cache.
class PosixDirectWritableFile : public WritableFile {
 public:
  PosixDirectWritableFile(std::string path, int fd, char* buf)
      : path_(std::move(path)), fd_(fd), buf_(buf) {}
  ~PosixDirectWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
    DirectBufferPool::Instance().Give(buf_);
  }

  Status Append(std::string_view data) override {
    while (!data.empty()) {
      size_t n = std::min(kDirectBufferSize - used_, data.size());
      std::memcpy(buf_ + used_, data.data(), n);
      used_ += n;
      data.remove_prefix(n);
      if (used_ == kDirectBufferSize) RETURN_IF_ERROR(WriteBuffer(/*pad=*/false));
    }
    return Status::Ok();
  }

  Status StartWriteback() override {
    // Direct writes are already on their way to the disk.
    if (!direct_) (void)::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
    return Status::Ok();
  }

  Status Sync() override {
    RETURN_IF_ERROR(Settle());
    if (::fdatasync(fd_) != 0) return Status::FromErrno(errno, "fdatasync " + path_);
    return Status::Ok();
  }

  Status Close() override {
    Status s = Settle();
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0 && s.ok()) s = Status::FromErrno(errno, "close " + path_);
    return s;
  }

 private:
  // Writes out everything appended and gives the file its exact length.
  Status Settle() {
    if (used_ > 0) RETURN_IF_ERROR(WriteBuffer(/*pad=*/true));
    if (padded_) {
      if (::ftruncate(fd_, static_cast<off_t>(written_ + used_)) != 0) {
        return Status::FromErrno(errno, "truncate " + path_);
      }
      padded_ = false;
    }
    return Status::Ok();
  }

  // Writes the whole blocks in the buffer (and, with `pad`, the partial last
  // block zero-padded) at offset written_. A partial block stays in the
  // buffer so later appends complete it and rewrite it in place.
  Status WriteBuffer(bool pad) {
    size_t full = used_ & ~(kDirectAlign - 1);
    size_t len = full;
    if (pad && used_ > full) {
      len = full + kDirectAlign;
      std::memset(buf_ + used_, 0, len - used_);
      padded_ = true;
    }
    RETURN_IF_ERROR(WriteAll(buf_, len, written_));
    size_t tail = used_ - full;
    if (full > 0 && tail > 0) std::memmove(buf_, buf_ + full, tail);
    written_ += full;
    used_ = tail;
    return Status::Ok();
  }

  Status WriteAll(const char* p, size_t n, uint64_t offset) {
    while (n > 0) {
      ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(offset));
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EINVAL && direct_) {
          // This file system (or device) wants other alignment: fall back.
          int flags = ::fcntl(fd_, F_GETFL);
          if (flags >= 0 && ::fcntl(fd_, F_SETFL, flags & ~O_DIRECT) == 0) {
            direct_ = false;
            continue;
          }
        }
        return Status::FromErrno(errno, "write " + path_);
      }
      p += w;
      n -= static_cast<size_t>(w);
      offset += static_cast<uint64_t>(w);
    }
    return Status::Ok();
  }

  std::string path_;
  int fd_;
  char* buf_;             // kDirectBufferSize bytes, kDirectAlign-aligned
  size_t used_ = 0;       // bytes in buf_, starting at file offset written_
  uint64_t written_ = 0;  // aligned; bytes before it are final
  bool padded_ = false;   // the file extends past the appended bytes
  bool direct_ = true;
};

class PosixRandomAccessFile : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, scratch + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "read " + path_);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  }

  Result<uint64_t> Size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Status::FromErrno(errno, "stat " + path_);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  std::string path_;
  int fd_;
};

class PosixRandomRWFile : public RandomRWFile {
 public:
  PosixRandomRWFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomRWFile() override { ::close(fd_); }

  Result<size_t> WriteSome(uint64_t offset, std::string_view data) override {
    for (;;) {
      ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return Status::FromErrno(errno, "write " + path_);
    }
  }

  Result<size_t> CopySomeFrom(int in, uint64_t in_offset, uint64_t offset, size_t len) override {
    for (;;) {
      loff_t ip = static_cast<loff_t>(in_offset), op = static_cast<loff_t>(offset);
      ssize_t n = ::copy_file_range(in, &ip, fd_, &op, len, 0);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return Status::FromErrno(errno, "copy_file_range to " + path_);
    }
  }

  Result<size_t> ReadSome(uint64_t offset, size_t n, char* scratch) const override {
    for (;;) {
      ssize_t r = ::pread(fd_, scratch, n, static_cast<off_t>(offset));
      if (r >= 0) return static_cast<size_t>(r);
      if (errno != EINTR) return Status::FromErrno(errno, "read " + path_);
    }
  }

  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return Status::FromErrno(errno, "truncate " + path_);
    }
    return Status::Ok();
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) return Status::FromErrno(errno, "fdatasync " + path_);
    return Status::Ok();
  }

  Result<uint64_t> Size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Status::FromErrno(errno, "stat " + path_);
    return static_cast<uint64_t>(st.st_size);
  }

  Status SetXattr(const std::string& name, std::string_view value) override {
    if (::fsetxattr(fd_, name.c_str(), value.data(), value.size(), 0) != 0) {
      return Status::FromErrno(errno, "setxattr " + name + " of " + path_);
    }
    return Status::Ok();
  }

  Status Chmod(uint32_t mode) override {
    if (::fchmod(fd_, static_cast<mode_t>(mode)) != 0) {
      return Status::FromErrno(errno, "chmod " + path_);
    }
    return Status::Ok();
  }

  Result<std::unique_ptr<RandomRWFile>> OpenDirect() const override {
    const std::string self = "/proc/self/fd/" + std::to_string(fd_);
    int fd = ::open(self.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open O_DIRECT " + path_);
    return std::unique_ptr<RandomRWFile>(new PosixRandomRWFile(path_, fd));
  }

  int fd() const override { return fd_; }

 private:
  const std::string path_;
  const int fd_;
};

class PosixFileLock : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }  // closing the last fd drops the flock

 private:
  int fd_;
};

// What snapvol writes through an Env (the store, mount state, CSI state)
// holds volume data or says where it is: owner-only, whatever the umask.
constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0700;

class PosixEnv : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode);
    if (fd < 0) return Status::FromErrno(errno, "create " + path);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
  }

  Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(const std::string& path) override {
    char* buf = DirectBufferPool::Instance().Take();
    if (buf == nullptr) return NewWritableFile(path);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, kFileMode);
    if (fd < 0 && errno == EINVAL) {
      // No O_DIRECT on this file system (e.g. some tmpfs, FUSE): buffered.
      DirectBufferPool::Instance().Give(buf);
      return NewWritableFile(path);
    }
    if (fd < 0) {
      int e = errno;
      DirectBufferPool::Instance().Give(buf);
      return Status::FromErrno(e, "create " + path);
    }
    return std::unique_ptr<WritableFile>(new PosixDirectWritableFile(path, fd, buf));
  }

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open " + path);
    return std::unique_ptr<RandomAccessFile>(new PosixRandomAccessFile(path, fd));
  }

  Result<std::unique_ptr<RandomRWFile>> NewRandomRWFile(const std::string& path,
                                                        OpenMode mode) override {
    int flags = O_RDWR | O_CLOEXEC;
    if (mode == OpenMode::kCreateNew) flags |= O_CREAT | O_EXCL;
    if (mode == OpenMode::kOpenOrCreate) flags |= O_CREAT;
    if (mode == OpenMode::kReadOnly) flags = O_RDONLY | O_CLOEXEC;
    int fd = ::open(path.c_str(), flags, kFileMode);
    if (fd < 0) return Status::FromErrno(errno, "open " + path);
    return std::unique_ptr<RandomRWFile>(new PosixRandomRWFile(path, fd));
  }

  Result<std::string> ReadFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open " + path);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int e = errno;
      ::close(fd);
      return Status::FromErrno(e, "stat " + path);
    }
    std::string out;
    out.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    // Read the size fstat reported, then probe for growth with a small buffer
    // so the common case never reallocates (and copies) the whole file.
    char probe[4096];
    for (;;) {
      bool full = done == out.size();
      char* dst = full ? probe : out.data() + done;
      size_t want = full ? sizeof(probe) : out.size() - done;
      ssize_t r = ::read(fd, dst, want);
      if (r < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        ::close(fd);
        return Status::FromErrno(e, "read " + path);
      }
      if (r == 0) break;
      if (full) out.append(probe, static_cast<size_t>(r));
      done += static_cast<size_t>(r);
    }
    ::close(fd);
    out.resize(done);
    return out;
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return Status::FromErrno(errno, "rename " + from + " to " + to);
    }
    return Status::Ok();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Status::FromErrno(errno, "remove " + path);
    return Status::Ok();
  }

  Status CreateDir(const std::string& path) override {
    if (::mkdir(path.c_str(), kDirMode) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "mkdir " + path);
    }
    return Status::Ok();
  }

  Status CreateDirs(const std::string& path) override {
    if (path.empty()) return Status::Ok();
    for (size_t pos = 1; pos <= path.size(); ++pos) {
      if (pos == path.size() || path[pos] == '/') {
        std::string prefix = path.substr(0, pos);
        if (::mkdir(prefix.c_str(), kDirMode) != 0 && errno != EEXIST) {
          return Status::FromErrno(errno, "mkdir " + prefix);
        }
      }
    }
    return Status::Ok();
  }

  Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open dir " + path);
    int rc = ::fsync(fd);
    int e = errno;
    ::close(fd);
    if (rc != 0) return Status::FromErrno(e, "fsync dir " + path);
    return Status::Ok();
  }

  Result<bool> FileExists(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) return true;
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return Status::FromErrno(errno, "stat " + path);
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return Status::FromErrno(errno, "opendir " + path);
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return Status::FromErrno(err, "readdir " + path);
    return names;
  }

  Result<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
    return static_cast<uint64_t>(st.st_size);
  }

  Status SyncFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open " + path);
    int rc = ::fdatasync(fd);
    int e = errno;
    ::close(fd);
    if (rc != 0) return Status::FromErrno(e, "fdatasync " + path);
    return Status::Ok();
  }

  Status SyncFilesystem(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open " + path);
    int rc = ::syncfs(fd);
    int e = errno;
    ::close(fd);
    if (rc != 0) return Status::FromErrno(e, "syncfs " + path);
    return Status::Ok();
  }

  Result<std::unique_ptr<FileLock>> TryLockFile(const std::string& path) override {
    // A previous holder may unlink the file right after we open it (that is
    // how stale lock files are cleaned up); then we would hold a lock on a
    // file nobody else can find. Re-check the name after locking and retry.
    for (int attempt = 0; attempt < 100; ++attempt) {
      int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kFileMode);
      if (fd < 0) return Status::FromErrno(errno, "open lock file " + path);
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        ::close(fd);
        if (e == EWOULDBLOCK) {
          return Status::Unavailable("lock file " + path + " is held by another process");
        }
        return Status::FromErrno(e, "flock " + path);
      }
      struct stat held, named;
      if (::fstat(fd, &held) != 0) {
        int e = errno;
        ::close(fd);
        return Status::FromErrno(e, "stat " + path);
      }
      if (::stat(path.c_str(), &named) == 0 && named.st_dev == held.st_dev &&
          named.st_ino == held.st_ino) {
        return std::unique_ptr<FileLock>(new PosixFileLock(fd));
      }
      ::close(fd);
    }
    return Status::Unavailable("lock file " + path + " keeps being replaced");
  }

  Result<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kFileMode);
    if (fd < 0) return Status::FromErrno(errno, "open lock file " + path);
    int rc;
    do {
      rc = ::flock(fd, LOCK_SH);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      int e = errno;
      ::close(fd);
      return Status::FromErrno(e, "flock " + path);
    }
    return std::unique_ptr<FileLock>(new PosixFileLock(fd));
  }

  int64_t NowNanos() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

Env* Env::Default() {
  static PosixEnv* env = new PosixEnv();
  return env;
}

}  // namespace snapvol::core
