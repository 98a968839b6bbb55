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
  if (file_ == nullptr) {
    Result<std::unique_ptr<core::RandomRWFile>> file =
        env_->NewRandomRWFile(path_, core::OpenMode::kOpenExisting);
    if (!file.ok()) return file.status().Annotate("reopening upper file");
    file_ = std::move(*file);
    UpperFilePool::Get().Opened();
  }
  ++uses_;
  return Use(this, file_.get());
}

void UpperFile::Release() const {
  bool idle;
  {
    std::lock_guard<std::mutex> l(fd_mu_);
    idle = --uses_ == 0 && file_ != nullptr && !pinned_;
  }
  if (idle) UpperFilePool::Get().Idle(this);
}

void UpperFile::CloseIfIdle() const {
  std::lock_guard<std::mutex> l(fd_mu_);
  if (uses_ != 0 || pinned_ || file_ == nullptr) return;
  file_.reset();
  direct_.reset();
  UpperFilePool::Get().Closed();
}

core::RandomRWFile* UpperFile::Direct() const {
  std::lock_guard<std::mutex> l(fd_mu_);
  if (direct_ == nullptr && !direct_off_ && file_ != nullptr) {
    Result<std::unique_ptr<core::RandomRWFile>> direct = file_->OpenDirect();
    if (direct.ok()) {
      direct_ = std::move(*direct);
    } else {
      direct_off_ = true;
    }
  }
  return direct_.get();
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

}  // namespace

Result<size_t> UpperFile::PwriteAt(core::RandomRWFile& file, std::string_view data,
                                   uint64_t off) const {
  const size_t n = data.size();
  const size_t head = (kDirectBlock - off % kDirectBlock) % kDirectBlock;
  const size_t aligned = n > head ? (n - head) / kDirectBlock * kDirectBlock : 0;
  core::RandomRWFile* direct = aligned >= kDirectMinBytes ? Direct() : nullptr;
  char* buf = direct != nullptr ? DirectBuffer() : nullptr;
  size_t done = 0;  // bytes of `data` written, front to back
  // Writes the next `len` bytes through the page cache.
  auto buffered = [&](size_t len) -> Status {
    for (const size_t end = done + len; done < end;) {
      ASSIGN_OR_RETURN(size_t w, file.WriteSome(off + done, data.substr(done, end - done)));
      if (w == 0) return Status::FromErrno(EIO, "write made no progress");
      done += w;
    }
    return Status::Ok();
  };
  Status s = Status::Ok();
  if (buf == nullptr) {
    s = buffered(n);
  } else {
    s = buffered(head);
    for (size_t left = aligned; s.ok() && left > 0;) {
      const size_t step = std::min(left, kDirectBufferBytes);
      std::memcpy(buf, data.data() + done, step);
      Result<size_t> w = direct->WriteSome(off + done, std::string_view(buf, step));
      if (!w.ok() && w.status().sys_errno() == EINVAL) {
        // The file system takes O_DIRECT opens but not these writes.
        NoDirectIo();
        break;
      }
      if (!w.ok()) {
        s = w.status();
        break;
      }
      // A short direct write leaves an aligned remainder or a buffered tail.
      done += *w;
      left -= *w;
      if (*w == 0 || *w % kDirectBlock != 0) break;
    }
    if (s.ok()) s = buffered(n - done);
  }
  if (!s.ok()) {
    if (done == 0) return s.Annotate("writing upper file");
    // The disk filled part-way: a short write, as write(2) reports it, so
    // the size the mount shows is the file's. The next write gets the error.
    DropStream();
    return done;
  }
  Feed(file, data, off);
  return n;
}

namespace {
std::atomic<int> g_streams{0};  // files streaming now, process-wide
}  // namespace

void UpperFile::Feed(const core::RandomRWFile& file, std::string_view data, uint64_t off) const {
  if (stream_store_ == nullptr) return;
  std::lock_guard<std::mutex> l(stream_mu_);
  if (stream_ == nullptr) {
    // Start only on a big first write into an empty file: what a job saving
    // a checkpoint or a model does. Small files gain nothing.
    if (off != 0 || data.size() < kDirectMinBytes) return;
    Result<uint64_t> size = file.Size();
    if (!size.ok() || *size != data.size()) return;
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

std::shared_ptr<UpperFile> UpperFile::Adopt(core::Env* env,
                                            std::unique_ptr<core::RandomRWFile> file,
                                            const std::string& path, uint64_t id) {
  UpperFilePool::Get().Opened();
  std::shared_ptr<UpperFile> f(new UpperFile(env, std::move(file), id, path));
  UpperFilePool::Get().Idle(f.get());
  return f;
}

Result<std::shared_ptr<UpperFile>> UpperFile::Create(const std::string& path, uint64_t id,
                                                     core::Env* env) {
  Result<std::unique_ptr<core::RandomRWFile>> file =
      env->NewRandomRWFile(path, core::OpenMode::kCreateNew);
  if (!file.ok()) return file.status().Annotate("creating upper file");
  return Adopt(env, std::move(*file), path, id);
}

Result<std::shared_ptr<UpperFile>> UpperFile::Open(const std::string& path, uint64_t id,
                                                   core::Env* env) {
  Result<std::unique_ptr<core::RandomRWFile>> file =
      env->NewRandomRWFile(path, core::OpenMode::kOpenExisting);
  if (!file.ok()) {
    if (file.status().Is(core::Code::kNotFound)) {
      return Status::NotFound("upper file " + path + " not found");
    }
    return file.status().Annotate("opening upper file");
  }
  std::shared_ptr<UpperFile> f = Adopt(env, std::move(*file), path, id);
  f->named_ = true;  // found by its name
  return f;
}

UpperFile::~UpperFile() {
  DropStream();  // gives its slot back (a file removed while being written)
  UpperFilePool::Get().Forget(this);
  direct_.reset();
  if (file_ != nullptr) {
    file_.reset();
    UpperFilePool::Get().Closed();
  }
}

Result<uint64_t> UpperFile::Size() const {
  ASSIGN_OR_RETURN(Use use, Acquire());
  Result<uint64_t> size = use.file_->Size();
  if (!size.ok()) return size.status().Annotate("upper file");
  return size;
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
  return use.file_->Truncate(size).Annotate("truncating upper file");
}

Status UpperFile::Sync() {
  ASSIGN_OR_RETURN(Use use, Acquire());
  bool unlinked;
  {
    std::lock_guard<std::mutex> l(fd_mu_);
    unlinked = pinned_;
  }
  std::lock_guard<std::mutex> l(sync_mu_);
  if (!sync_error_.ok()) return sync_error_;
  Status s = use.file_->Sync();
  if (s.ok() && !named_ && !unlinked) {
    // A new file's name is durable only once its directory is synced.
    const size_t slash = path_.find_last_of('/');
    s = env_->SyncDir(slash == std::string::npos ? "." : path_.substr(0, slash));
    named_ = s.ok();
  }
  if (s.ok()) return s;
  sync_error_ = s.Annotate("syncing upper file");
  return sync_error_;
}

void UpperFile::Unlink() {
  // Pin an open descriptor first: once the name is gone it cannot reopen.
  Result<Use> use = Acquire();
  {
    std::lock_guard<std::mutex> l(fd_mu_);
    if (use.ok()) pinned_ = true;
  }
  // Best effort: a name left behind holds no journaled content (recovery
  // replays only files the journal names, and it names this one no more).
  (void)env_->RemoveFile(path_);
}

Result<UpperFile::Snap> UpperFile::ReadInto(store::ObjectStore* objects) {
  ASSIGN_OR_RETURN(Use use, Acquire());
  const core::RandomRWFile& file = *use.file_;
  // SEEK_DATA/SEEK_HOLE below need the descriptor; they only read.
  const int fd = file.fd();
  Result<uint64_t> file_size = file.Size();
  if (!file_size.ok()) return file_size.status().Annotate("upper file");
  const uint64_t size = *file_size;
  if (size <= volume::kInlineLimit) {
    // What FileWriter makes of it (holes read as zeros), without its
    // machinery: a commit of 100k small files does this 100k times.
    std::string bytes(size, '\0');
    // Short only if it shrank under us; the version check rejects this read.
    Result<size_t> read = file.Read(0, size, bytes.data());
    if (!read.ok()) return read.status().Annotate("reading upper file");
    const size_t got = *read;
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
  core::RandomRWFile* direct = size >= 4 * kDirectBufferBytes ? Direct() : nullptr;
  char* dbuf = direct != nullptr ? DirectBuffer() : nullptr;
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
      Result<size_t> read = size_t{0};
      if (dbuf != nullptr && pos % kDirectBlock == 0) {
        const size_t span = (want + kDirectBlock - 1) / kDirectBlock * kDirectBlock;
        read = direct->ReadSome(pos, span, dbuf);
        if (!read.ok() && read.status().sys_errno() == EINVAL) {
          NoDirectIo();
          dbuf = nullptr;
          continue;
        }
        if (read.ok()) read = std::min(*read, want);
        got = dbuf;
      } else {
        buf.resize(want);
        read = file.ReadSome(pos, want, buf.data());
        got = buf.data();
      }
      if (!read.ok()) return read.status().Annotate("reading upper file");
      const size_t n = *read;
      if (n == 0) {  // shrank under us; the version check rejects this read
        RETURN_IF_ERROR(writer.WriteHole(size - pos));
        pos = size;
        break;
      }
      RETURN_IF_ERROR(writer.Write(std::string_view(got, n)));
      pos += n;
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
