#include "driver/fs/file_cache.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "driver/core/env.h"
#include "driver/core/monotonic_clock.h"
#include "driver/store/local/verified_memo.h"

namespace snapvol::fs {
namespace {

constexpr const char* kTmpPrefix = ".fill.";
// A copy is not started unless the file system keeps this share free after
// it (the copy is a cache; the write layer and the store need the room).
constexpr uint64_t kKeepFreeDivisor = 10;
// Bytes asked of the layout per step of a copy.
constexpr size_t kCopyStep = 8 << 20;

Status Errno(const std::string& what) { return Status::FromErrno(errno, what); }

// A copy names the identity of its file (inode, size, mtime) in an xattr
// once it is complete, in the form of the store's verification memo: a copy
// rewritten in place afterwards (a later mtime) is not trusted, and dropped.
constexpr char kCopyXattr[] = "user.snapvol.copy";

// Writes `len` bytes at `pos` of the descriptor `in` (a chunk file) to `out`
// at `at`, in the kernel where it can.
Status CopyRange(int in, uint64_t pos, core::RandomRWFile& out, uint64_t at, uint64_t len) {
  bool kernel = true;
  std::vector<char> buf;
  while (len > 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(len, 1 << 30));
    size_t n = 0;
    if (kernel) {
      Result<size_t> copied = out.CopySomeFrom(in, pos, at, want);
      const int e = copied.status().sys_errno();
      if (!copied.ok() &&
          (e == EXDEV || e == EINVAL || e == ENOSYS || e == EOPNOTSUPP || e == EPERM)) {
        kernel = false;
        continue;
      }
      if (!copied.ok()) return copied.status().Annotate("copying into the file cache");
      n = *copied;
    } else {
      if (buf.empty()) buf.resize(1 << 20);
      ssize_t r;
      do {
        r = ::pread(in, buf.data(), std::min(want, buf.size()), static_cast<off_t>(pos));
      } while (r < 0 && errno == EINTR);
      if (r < 0) return Errno("reading a chunk for the file cache");
      n = static_cast<size_t>(r);
      RETURN_IF_ERROR(
          out.Write(at, std::string_view(buf.data(), n)).Annotate("writing a file cache copy"));
    }
    if (n == 0) return Status::Corruption("a chunk file ended early");
    pos += n;
    at += n;
    len -= n;
  }
  return Status::Ok();
}

}  // namespace

uint64_t FileCache::BudgetFor(const std::string& dir) {
  if (const char* env = std::getenv("SNAPVOL_FILE_CACHE_BYTES"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(env, &end, 10);
    if (errno == 0 && end != nullptr && *end == '\0') return v;
    std::fprintf(stderr, "snapvol mount: ignoring SNAPVOL_FILE_CACHE_BYTES='%s' (not a number)\n",
                 env);
  }
  struct statvfs st;
  std::string probe = dir;
  while (::statvfs(probe.c_str(), &st) != 0) {
    const size_t slash = probe.find_last_of('/');
    if (slash == std::string::npos || slash == 0) {
      if (::statvfs("/", &st) != 0) return 0;
      break;
    }
    probe.resize(slash);
  }
  return static_cast<uint64_t>(st.f_blocks) * st.f_frsize / 4;
}

FileCache::FileCache(std::string dir, uint64_t max_bytes, ChunkCache* chunks, core::Env* env)
    : dir_(std::move(dir)), max_bytes_(max_bytes), chunks_(chunks), env_(env) {
  if (max_bytes_ == 0) return;
  Status st = env_->CreateDirs(dir_);
  // An existing directory keeps its mode; the Env has no chmod by name.
  if (st.ok() && ::chmod(dir_.c_str(), 0700) != 0) st = Errno("restricting " + dir_);
  if (st.ok()) {
    // Copies are marked with a user xattr: without them no copy is trusted.
    const std::string probe = dir_ + "/" + kTmpPrefix + std::to_string(::getpid()) + ".probe";
    Result<std::unique_ptr<core::RandomRWFile>> f =
        env_->NewRandomRWFile(probe, core::OpenMode::kOpenOrCreate);
    st = f.ok() ? (*f)->SetXattr(kCopyXattr, "probe") : f.status();
    if (f.ok()) {
      f->reset();
      (void)env_->RemoveFile(probe);
    }
  }
  if (!st.ok()) {
    std::fprintf(stderr, "snapvol mount: file cache off: %s\n", st.ToString().c_str());
    max_bytes_ = 0;
    return;
  }
  RemoveStaleTemporaries();
  pool_ = std::make_unique<volume::WorkerPool>(1);
}

FileCache::~FileCache() {
  stop_at_ns_.store(core::MonotonicNanos() + kFinishNs);
  stopping_.store(true);
  pool_.reset();  // runs what is queued: each returns at once
}

std::string FileCache::PathOf(const core::Hash& key) const { return dir_ + "/" + key.Hex(); }

int FileCache::Open(const FileLayout& layout) {
  if (!enabled() || layout.size() < kMinFileBytes) return -1;
  const std::string path = PathOf(layout.content_key());
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd >= 0) {
    char memo[128];
    const ssize_t n = ::fgetxattr(fd, kCopyXattr, memo, sizeof(memo));
    if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != layout.size() || n <= 0 ||
        std::string_view(memo, static_cast<size_t>(n)) != store::FileIdentity(st)) {
      // Changed since it was made, or not what this key names: drop it.
      ::close(fd);
      fd = -1;
      (void)env_->RemoveFile(path);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (fd < 0) {
    ++stats_.misses;
    return -1;
  }
  ++stats_.hits;
  // The access time orders copies for eviction (the mtime is part of the
  // identity).
  const struct timespec times[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
  ::futimens(fd, times);
  return fd;
}

void FileCache::Fill(std::shared_ptr<const FileLayout> layout) {
  if (!enabled() || layout == nullptr || layout->size() < kMinFileBytes ||
      layout->size() > max_bytes_) {
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_.count(layout->content_key()) != 0) return;
    if (!filling_.insert(layout->content_key()).second) return;
  }
  if (Result<bool> exists = env_->FileExists(PathOf(layout->content_key()));
      exists.ok() && *exists) {
    std::lock_guard<std::mutex> lock(mu_);
    filling_.erase(layout->content_key());
    idle_.notify_all();
    return;
  }
  pool_->Submit([this, layout] { FillNow(layout); });
}

void FileCache::FillNow(const std::shared_ptr<const FileLayout>& layout) {
  const core::Hash key = layout->content_key();
  Status st = Status::Ok();
  if (stopping_.load()) st = Status::Aborted("the mount is stopping");
  struct statvfs fs;
  if (::statvfs(dir_.c_str(), &fs) == 0) {
    const uint64_t total = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
    const uint64_t avail = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    if (avail < layout->size() + total / kKeepFreeDivisor) {
      st = Status::FromErrno(ENOSPC, "too little free space for a file cache copy");
    }
  }
  if (st.ok() && !stopping_.load()) {
    const std::string tmp = dir_ + "/" + kTmpPrefix + std::to_string(::getpid()) + "." +
                            std::to_string(next_tmp_.fetch_add(1));
    st = Copy(*layout, tmp);
    if (st.ok()) st = env_->RenameFile(tmp, PathOf(key)).Annotate("naming a file cache copy");
    if (!st.ok()) (void)env_->RemoveFile(tmp);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (st.ok()) {
      ++stats_.fills;
    } else if (!st.Is(core::Code::kAborted)) {
      ++stats_.fill_failures;
      // Short of space may pass; anything else (a corrupt or missing chunk,
      // an I/O error) would fail again.
      if (st.sys_errno() != ENOSPC) failed_.insert(key);
    }
  }
  if (!st.ok() && !st.Is(core::Code::kAborted)) {
    std::fprintf(stderr, "snapvol mount: no file cache copy of %s: %s\n", key.Hex().c_str(),
                 st.ToString().c_str());
  } else if (st.ok()) {
    Evict();
  }
  std::lock_guard<std::mutex> lock(mu_);
  filling_.erase(key);
  idle_.notify_all();
}

Status FileCache::Copy(const FileLayout& layout, const std::string& tmp) {
  // 0600 while it is filled and marked (the server holds no
  // CAP_DAC_OVERRIDE: setting an xattr needs write permission), 0400 once done.
  Result<std::unique_ptr<core::RandomRWFile>> created =
      env_->NewRandomRWFile(tmp, core::OpenMode::kCreateNew);
  if (!created.ok()) return created.status().Annotate("creating a file cache copy");
  core::RandomRWFile& out = **created;
  Status st = Status::Ok();
  std::vector<Segment> segs;
  for (uint64_t off = 0; st.ok() && off < layout.size();) {
    if (stopping_.load() && core::MonotonicNanos() >= stop_at_ns_.load()) {
      st = Status::Aborted("the mount is stopping");
      break;
    }
    segs.clear();
    st = layout.Read(*chunks_, off, kCopyStep, &segs);
    if (st.ok() && segs.empty()) st = Status::Corruption("the file's layout ended early");
    for (const Segment& s : segs) {
      if (!st.ok()) break;
      if (s.fd >= 0) {
        st = CopyRange(s.fd, s.pos, out, off, s.len);
      } else if (s.mem != Zeros()) {
        st = out.Write(off, std::string_view(s.mem, s.len)).Annotate("writing a file cache copy");
      }  // else a hole: left unwritten, the copy stays sparse
      off += s.len;
    }
  }
  if (st.ok()) st = out.Truncate(layout.size()).Annotate("sizing a file cache copy");
  // Synced before it is named: after a crash a name holds all its bytes.
  if (st.ok()) st = out.Sync().Annotate("syncing a file cache copy");
  struct stat done;
  if (st.ok() && ::fstat(out.fd(), &done) != 0) st = Errno("checking a file cache copy");
  if (st.ok()) {
    st = out.SetXattr(kCopyXattr, store::FileIdentity(done))
             .Annotate("marking a file cache copy complete");
  }
  if (st.ok()) st = out.Chmod(0400).Annotate("sealing a file cache copy");
  return st;
}

void FileCache::Evict() {
  struct Entry {
    int64_t atime_ns;
    uint64_t bytes;
    std::string path;
  };
  Result<std::vector<std::string>> names = env_->ListDir(dir_);
  if (!names.ok()) return;
  std::vector<Entry> entries;
  uint64_t total = 0;
  for (const std::string& name : *names) {
    if (name[0] == '.') continue;
    std::string path = dir_ + "/" + name;
    // Blocks and access times: only stat(2) has them.
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const uint64_t bytes = static_cast<uint64_t>(st.st_blocks) * 512;
    total += bytes;
    entries.push_back(
        {st.st_atim.tv_sec * 1'000'000'000LL + st.st_atim.tv_nsec, bytes, std::move(path)});
  }
  if (total <= max_bytes_) return;
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.atime_ns < b.atime_ns; });
  uint64_t evicted = 0;
  for (const Entry& e : entries) {
    if (total <= max_bytes_) break;
    if (env_->RemoveFile(e.path).ok()) {
      total -= e.bytes;
      ++evicted;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.evictions += evicted;
}

void FileCache::RemoveStaleTemporaries() {
  Result<std::vector<std::string>> names = env_->ListDir(dir_);
  if (!names.ok()) return;
  const std::string prefix = kTmpPrefix;
  for (const std::string& name : *names) {
    if (name.rfind(prefix, 0) != 0) continue;
    // .fill.<pid>.<n>: the writer's pid; its copy is abandoned once it is gone.
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM)) continue;
    (void)env_->RemoveFile(dir_ + "/" + name);
  }
}

void FileCache::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [&] { return filling_.empty(); });
}

FileCache::Stats FileCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace snapvol::fs
