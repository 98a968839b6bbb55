#include "driver/fs/upper_file.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <list>
#include <memory>
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
  if (direct_fd_ >= 0) ::close(direct_fd_);
  direct_fd_ = -1;
  UpperFilePool::Get().Closed();
}

int UpperFile::DirectFd() const {
  std::lock_guard<std::mutex> l(fd_mu_);
  if (direct_fd_ < 0 && !direct_off_ && fd_ >= 0) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd_);
    direct_fd_ = ::open(self.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
    if (direct_fd_ < 0) direct_off_ = true;
  }
  return direct_fd_;
}

void UpperFile::NoDirectIo() const {
  std::lock_guard<std::mutex> l(fd_mu_);
  direct_off_ = true;
}

namespace {

constexpr size_t kDirectBlock = 4096;          // offset, length and memory alignment
constexpr size_t kDirectMinBytes = 256 << 10;  // smaller spans stay buffered
constexpr size_t kDirectBufferBytes = 1 << 20;

// A page-aligned scratch buffer per thread for direct I/O.
char* DirectBuffer() {
  struct Deleter {
    void operator()(char* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<char, Deleter> buf(
      static_cast<char*>(std::aligned_alloc(kDirectBlock, kDirectBufferBytes)));
  return buf.get();
}

Status PwriteFully(int fd, const char* p, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "writing upper file " + path);
    }
    p += w;
    n -= static_cast<size_t>(w);
    off += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

}  // namespace

Result<size_t> UpperFile::PwriteAt(int fd, std::string_view data, uint64_t off) const {
  const char* p = data.data();
  size_t n = data.size();
  const size_t head = (kDirectBlock - off % kDirectBlock) % kDirectBlock;
  const size_t aligned = n > head ? (n - head) / kDirectBlock * kDirectBlock : 0;
  int dfd = aligned >= kDirectMinBytes ? DirectFd() : -1;
  char* buf = dfd >= 0 ? DirectBuffer() : nullptr;
  if (buf == nullptr) {
    RETURN_IF_ERROR(PwriteFully(fd, p, n, off, path_));
    Feed(fd, data, off);
    return data.size();
  }
  const uint64_t start = off;
  RETURN_IF_ERROR(PwriteFully(fd, p, head, off, path_));
  p += head;
  off += head;
  size_t left = aligned;
  while (left > 0) {
    const size_t step = std::min(left, kDirectBufferBytes);
    std::memcpy(buf, p, step);
    ssize_t w = ::pwrite(dfd, buf, step, static_cast<off_t>(off));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EINVAL) {
      // The file system takes O_DIRECT opens but not these writes.
      NoDirectIo();
      break;
    }
    if (w < 0) return Status::FromErrno(errno, "writing upper file " + path_);
    // A short direct write leaves an aligned remainder or a buffered tail.
    p += w;
    off += static_cast<uint64_t>(w);
    left -= static_cast<size_t>(w);
    if (static_cast<size_t>(w) % kDirectBlock != 0) break;
  }
  RETURN_IF_ERROR(PwriteFully(fd, p, static_cast<size_t>(data.data() + n - p), off, path_));
  Feed(fd, data, start);
  return data.size();
}

namespace {
std::atomic<int> g_streams{0};  // files streaming now, process-wide
}  // namespace

void UpperFile::Feed(int fd, std::string_view data, uint64_t off) const {
  if (stream_store_ == nullptr) return;
  std::lock_guard<std::mutex> l(stream_mu_);
  if (stream_ == nullptr) {
    // Start only on a big first write into an empty file: what a job saving
    // a checkpoint or a model does. Small files gain nothing.
    if (off != 0 || data.size() < kDirectMinBytes) return;
    struct stat st;
    if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != data.size()) return;
    if (g_streams.fetch_add(1) >= kMaxStreams) {
      g_streams.fetch_sub(1);
      return;
    }
    sealed_.reset();
    stream_ = std::make_unique<UpperStream>(stream_store_);
    stream_end_ = 0;
  }
  if (off != stream_end_ || !stream_->Feed(data)) {
    DropStreamLocked();
    return;
  }
  stream_end_ += data.size();
}

void UpperFile::DropStream() const {
  std::lock_guard<std::mutex> l(stream_mu_);
  DropStreamLocked();
}

void UpperFile::DropStreamLocked() const {
  sealed_.reset();
  if (stream_ == nullptr) return;
  stream_.reset();  // waits for its workers; what they stored is garbage
  g_streams.fetch_sub(1);
}

void UpperFile::SealLocked() const {
  if (stream_ == nullptr) return;
  // The version is read before finishing: a write that raced in after the
  // last fed one bumps it and TakeSealed refuses the content.
  const uint64_t version = version_.load();
  const uint64_t fed = stream_end_;
  Result<objects::Content> content = stream_->Finish();
  stream_.reset();
  g_streams.fetch_sub(1);
  if (!content.ok()) return;
  Snap snap;
  snap.content = std::move(*content);
  snap.size = fed;
  sealed_ = std::move(snap);
  sealed_version_ = version;
}

void UpperFile::SealStream() {
  std::lock_guard<std::mutex> l(stream_mu_);
  SealLocked();
}

std::optional<UpperFile::Snap> UpperFile::TakeSealed() {
  std::lock_guard<std::mutex> l(stream_mu_);
  if (inflight_.load() != 0) return std::nullopt;
  SealLocked();
  if (!sealed_ || version_.load() != sealed_version_) return std::nullopt;
  Result<uint64_t> size = Size();
  if (!size.ok() || *size != sealed_->size) return std::nullopt;
  return sealed_;
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
  DropStream();  // gives its slot back (a file removed while being written)
  UpperFilePool::Get().Forget(this);
  if (direct_fd_ >= 0) ::close(direct_fd_);
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

bool UpperFile::WaitQuiet(int64_t quiet_ns, int64_t deadline_ns) const {
  for (;;) {
    const int64_t now = core::MonotonicNanos();
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
  DropStream();
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
  ASSIGN_OR_RETURN(Use use, Acquire());
  const int fd = use.fd();
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "stat of upper file " + path_);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size <= volume::kInlineLimit) {
    // What FileWriter makes of it (holes read as zeros), without its
    // machinery: a commit of 100k small files does this 100k times.
    std::string bytes(size, '\0');
    size_t got = 0;
    while (got < size) {
      ssize_t n = ::pread(fd, bytes.data() + got, size - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno(errno, "reading upper file " + path_);
      if (n == 0) break;  // shrank under us; the version check rejects this read
      got += static_cast<size_t>(n);
    }
    bytes.resize(got);
    Snap snap;
    snap.size = got;
    if (got > 0) snap.content.set_inline_data(std::move(bytes));
    return snap;
  }
  volume::FileWriter writer(objects);
  std::string buf;
  // Big files are read back with direct I/O: their bytes were mostly written
  // that way and are not in the page cache; reading them through it would
  // fill fresh pages only to copy them out once.
  int dfd = size >= 4 * kDirectBufferBytes ? DirectFd() : -1;
  char* dbuf = dfd >= 0 ? DirectBuffer() : nullptr;
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
      size_t want = static_cast<size_t>(std::min<uint64_t>(hole_at - pos, kDirectBufferBytes));
      const char* got = nullptr;
      ssize_t n = -1;
      if (dbuf != nullptr && pos % kDirectBlock == 0) {
        const size_t span = (want + kDirectBlock - 1) / kDirectBlock * kDirectBlock;
        n = ::pread(dfd, dbuf, span, static_cast<off_t>(pos));
        if (n < 0 && errno == EINVAL) {
          NoDirectIo();
          dbuf = nullptr;
          continue;
        }
        n = std::min<ssize_t>(n, static_cast<ssize_t>(want));
        got = dbuf;
      } else {
        buf.resize(want);
        n = ::pread(fd, buf.data(), want, static_cast<off_t>(pos));
        got = buf.data();
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "reading upper file " + path_);
      }
      if (n == 0) {  // shrank under us; the version check rejects this read
        RETURN_IF_ERROR(writer.WriteHole(size - pos));
        pos = size;
        break;
      }
      RETURN_IF_ERROR(writer.Write(std::string_view(got, static_cast<size_t>(n))));
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
    if (std::optional<Snap> streamed = TakeSealed()) return streamed;
    const uint64_t before = version_.load();
    if (inflight_.load() != 0) continue;
    ASSIGN_OR_RETURN(Snap snap, ReadInto(objects));
    if (inflight_.load() == 0 && version_.load() == before) return std::optional<Snap>(snap);
  }
  return std::optional<Snap>();
}

}  // namespace snapvol::fs
