#include "driver/fs/upper_file.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <list>
#include <thread>
#include <unordered_map>

#include "driver/volume/file_writer.h"

namespace snapvol::fs {

// The process-wide LRU of idle open upper-file descriptors.
class UpperFilePool {
 public:
  static UpperFilePool& Get() {
    static UpperFilePool* pool = new UpperFilePool();
    return *pool;
  }
  // `f` has an open descriptor nobody uses: remember it, close the least
  // recently used beyond capacity. Lock order: pool, then file.
  void Idle(const UpperFile* f) {
    std::lock_guard<std::mutex> l(mu_);
    Erase(f);
    lru_.push_front(f);
    pos_[f] = lru_.begin();
    while (lru_.size() > capacity_) {
      const UpperFile* victim = lru_.back();
      Erase(victim);
      victim->CloseIfIdle();
    }
  }
  void Forget(const UpperFile* f) {
    std::lock_guard<std::mutex> l(mu_);
    Erase(f);
  }
  void Opened() { open_.fetch_add(1); }
  void Closed() { open_.fetch_sub(1); }
  size_t open() const { return open_.load(); }

 private:
  UpperFilePool() {
    struct rlimit nofile;
    size_t limit = ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 ? nofile.rlim_cur : 1024;
    capacity_ = std::clamp<size_t>(limit / 4, 16, 65536);
  }
  void Erase(const UpperFile* f) {
    auto it = pos_.find(f);
    if (it == pos_.end()) return;
    lru_.erase(it->second);
    pos_.erase(it);
  }
  std::mutex mu_;
  std::list<const UpperFile*> lru_;  // front: most recently idle
  std::unordered_map<const UpperFile*, std::list<const UpperFile*>::iterator> pos_;
  size_t capacity_ = 1024;
  std::atomic<size_t> open_{0};
};

size_t UpperFile::OpenDescriptors() { return UpperFilePool::Get().open(); }

Result<UpperFile::Use> UpperFile::Acquire() const {
  std::lock_guard<std::mutex> l(fd_mu_);
  if (fd_ < 0) {
    int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "reopening upper file " + path_);
    fd_ = fd;
    UpperFilePool::Get().Opened();
  }
  ++uses_;
  return Use(this, fd_);
}

void UpperFile::Release() const {
  bool idle;
  {
    std::lock_guard<std::mutex> l(fd_mu_);
    idle = --uses_ == 0 && fd_ >= 0 && !pinned_;
  }
  if (idle) UpperFilePool::Get().Idle(this);
}

void UpperFile::CloseIfIdle() const {
  std::lock_guard<std::mutex> l(fd_mu_);
  if (uses_ != 0 || pinned_ || fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  UpperFilePool::Get().Closed();
}

Result<std::shared_ptr<UpperFile>> UpperFile::Create(const std::string& path, uint64_t id) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "creating upper file " + path);
  UpperFilePool::Get().Opened();
  std::shared_ptr<UpperFile> f(new UpperFile(fd, id, path));
  UpperFilePool::Get().Idle(f.get());
  return f;
}

Result<std::shared_ptr<UpperFile>> UpperFile::Open(const std::string& path, uint64_t id) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("upper file " + path + " not found");
    return Status::FromErrno(errno, "opening upper file " + path);
  }
  UpperFilePool::Get().Opened();
  std::shared_ptr<UpperFile> f(new UpperFile(fd, id, path));
  UpperFilePool::Get().Idle(f.get());
  return f;
}

UpperFile::~UpperFile() {
  UpperFilePool::Get().Forget(this);
  if (fd_ >= 0) {
    ::close(fd_);
    UpperFilePool::Get().Closed();
  }
}

Result<uint64_t> UpperFile::Size() const {
  ASSIGN_OR_RETURN(Use use, Acquire());
  struct stat st;
  if (::fstat(use.fd(), &st) != 0) return Status::FromErrno(errno, "stat of upper file " + path_);
  return static_cast<uint64_t>(st.st_size);
}

int64_t UpperFile::MonotonicNanos() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool UpperFile::WaitQuiet(int64_t quiet_ns, int64_t deadline_ns) const {
  for (;;) {
    const int64_t now = MonotonicNanos();
    const int64_t since = now - last_write_ns_.load();
    if (inflight_.load() == 0 && since >= quiet_ns) return true;
    if (now >= deadline_ns) return false;
    const int64_t wait =
        std::min(quiet_ns - std::min(since, quiet_ns) + 1'000'000, deadline_ns - now);
    std::this_thread::sleep_for(std::chrono::nanoseconds(std::max<int64_t>(wait, 1'000'000)));
  }
}

Status UpperFile::Truncate(uint64_t size) {
  ASSIGN_OR_RETURN(Use use, Acquire());
  WriteScope scope(this);
  if (::ftruncate(use.fd(), static_cast<off_t>(size)) != 0) {
    return Status::FromErrno(errno, "truncating upper file " + path_);
  }
  return Status::Ok();
}

Status UpperFile::Sync() {
  ASSIGN_OR_RETURN(Use use, Acquire());
  if (::fdatasync(use.fd()) != 0) return Status::FromErrno(errno, "syncing upper file " + path_);
  return Status::Ok();
}

void UpperFile::Unlink() {
  // Pin an open descriptor first: once the name is gone it cannot reopen.
  Result<Use> use = Acquire();
  {
    std::lock_guard<std::mutex> l(fd_mu_);
    if (use.ok()) pinned_ = true;
  }
  ::unlink(path_.c_str());
}

Result<UpperFile::Snap> UpperFile::ReadInto(store::ObjectStore* objects) {
  ASSIGN_OR_RETURN(uint64_t size, Size());
  ASSIGN_OR_RETURN(Use use, Acquire());
  const int fd = use.fd();
  volume::FileWriter writer(objects);
  std::string buf;
  uint64_t pos = 0;
  while (pos < size) {
    off_t data = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    uint64_t data_at = data < 0 ? size : std::min<uint64_t>(static_cast<uint64_t>(data), size);
    if (data < 0 && errno != ENXIO) return Status::FromErrno(errno, "SEEK_DATA in " + path_);
    if (data_at > pos) {
      RETURN_IF_ERROR(writer.WriteHole(data_at - pos));
      pos = data_at;
      if (pos >= size) break;
    }
    off_t hole = ::lseek(fd, static_cast<off_t>(pos), SEEK_HOLE);
    uint64_t hole_at = hole < 0 ? size : std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    while (pos < hole_at) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(hole_at - pos, 1 << 20));
      buf.resize(want);
      ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(pos));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "reading upper file " + path_);
      }
      if (n == 0) {  // shrank under us; the version check rejects this read
        RETURN_IF_ERROR(writer.WriteHole(size - pos));
        pos = size;
        break;
      }
      RETURN_IF_ERROR(writer.Write(std::string_view(buf.data(), static_cast<size_t>(n))));
      pos += static_cast<uint64_t>(n);
    }
  }
  Snap snap;
  snap.size = writer.size();
  ASSIGN_OR_RETURN(snap.content, writer.Finish());
  return snap;
}

Result<std::optional<UpperFile::Snap>> UpperFile::Snapshot(store::ObjectStore* objects,
                                                           int attempts) {
  for (int i = 0; i < std::max(attempts, 1); ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2 << i));
    if (inflight_.load() != 0) continue;
    const uint64_t before = version_.load();
    if (inflight_.load() != 0) continue;
    ASSIGN_OR_RETURN(Snap snap, ReadInto(objects));
    if (inflight_.load() == 0 && version_.load() == before) return std::optional<Snap>(snap);
  }
  return std::optional<Snap>();
}

}  // namespace snapvol::fs
