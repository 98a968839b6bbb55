#include "driver/cli/uploader.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "driver/cli/context.h"
#include "driver/cli/local_path.h"
#include "driver/cli/open_beneath.h"
#include "driver/cli/progress.h"
#include "driver/cli/remote_tree.h"
#include "driver/cli/unique_fd.h"
#include "driver/core/names.h"
#include "driver/core/text.h"
#include "driver/volume/file_writer.h"
#include "driver/volume/inline_pack.h"

namespace snapvol::cli {

using core::JoinVolumePath;
using volume::ChangeOp;
using volume::Path;

namespace {

constexpr size_t kReadBuffer = 1 << 20;
// A file whose size or times change while it is read is read again, up to
// this many reads in all, before the put fails.
constexpr int kReadAttempts = 3;
// Test hooks (see uploader.h): set to anything, the process stops itself.
constexpr char kPauseAfterWalk[] = "SNAPVOL_TEST_PAUSE_AFTER_WALK";
constexpr char kPauseAfterRead[] = "SNAPVOL_TEST_PAUSE_AFTER_READ";

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

Status LocalError(int err, const std::string& path, std::string_view what) {
  return Status::FromErrno(err, std::string(what) + " '" + path + "'");
}

Status Changed(const std::string& path, std::string_view how) {
  return Status::Aborted("local path '" + path + "' changed while it was read (" +
                         std::string(how) + "); nothing was committed");
}

// The same inode, and still of the same type.
bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
         (a.st_mode & S_IFMT) == (b.st_mode & S_IFMT);
}

// What a reader can cheaply see of a write: appends and truncations change
// the size; any write changes mtime and ctime (at the file system's clock
// granularity, so two writes within one tick of a read can go unseen).
bool SameContentStamp(const struct stat& a, const struct stat& b) {
  return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
         a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

// Test hook: stops the whole process until the test, its parent, which
// sees the stop with waitpid(WUNTRACED), has changed the tree and sent
// SIGCONT.
void PauseForTest(bool enabled) {
  if (enabled) ::raise(SIGSTOP);
}

Path Child(const Path& dir, const std::string& name) {
  Path p = dir;
  p.push_back(name);
  return p;
}

unsigned UploadThreads() {
  unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  // Small files are dominated by open/read/close and object-write latency,
  // not CPU: run more readers than cores. (One big file uses one of them;
  // FileWriter hashes its chunks on its own pool.)
  return std::clamp(2 * hw, 4u, 16u);
}

}  // namespace

struct Uploader::Item {
  enum class Kind : uint8_t { kFile, kDir, kSymlink };
  Kind kind = Kind::kFile;
  bool replace = false;  // kDir: a non-directory at `remote` is deleted first
  Path remote;
  // kFile: the path below the walked directory (opened with OpenBeneath),
  // or, with `fd`, LOCAL as given; kSymlink: the link target.
  std::string local;
  UniqueFd fd;                   // kFile: LOCAL itself (or stdin), opened by Put()
  bool attrs_from_file = false;  // kFile: mode, owner, mtime are the file's (not stdin's)
  dev_t dev = 0;                 // kFile from the walk: the file fstatat saw
  ino_t ino = 0;
  uint32_t mode = 0, uid = 0, gid = 0;
  int64_t mtime_ns = 0;
  uint64_t size = 0;  // kFile: st_size when planned, bytes uploaded after
  objects::Content content;
};

// Reads and stores file contents on worker threads while the walk goes on.
// Items are owned by Plan::items (a deque: stable addresses); a worker
// writes only to the item it popped, and the main thread reads the results
// only after Finish().
class Uploader::Pool {
 public:
  // `root` is the walked directory the items' paths are relative to (-1
  // for a single file); it must outlive the pool. `shown` is its name for
  // messages.
  Pool(store::ObjectStore* objects, Progress* progress, int root, std::string shown)
      : objects_(objects),
        progress_(progress),
        root_(root),
        root_shown_(std::move(shown)),
        pause_after_read_(std::getenv(kPauseAfterRead) != nullptr) {}
  // Until Start(), queued items wait.
  void Start(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~Pool() {
    Stop(Status::Aborted("upload abandoned"));
    for (auto& t : threads_) t.join();
  }

  void Enqueue(Item* item) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(item);
    }
    cv_.notify_one();
  }

  // No more items will come: waits for the queued ones and returns the
  // first error, if any.
  Status Finish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

  bool failed() {
    std::lock_guard<std::mutex> lock(mu_);
    return !error_.ok();
  }

 private:
  // Also interrupts files being read, so a failed walk does not wait for a
  // big file to finish uploading.
  void Stop(Status why) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (error_.ok()) error_ = std::move(why);
      closed_ = true;
    }
    stop_.store(true);
    cv_.notify_all();
  }

  void Work() {
    std::vector<char> buf(kReadBuffer);
    for (;;) {
      Item* item;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty() || closed_ || !error_.ok(); });
        if (!error_.ok() || queue_.empty()) return;
        item = queue_.front();
        queue_.pop_front();
      }
      Status st = UploadFile(item, &buf);
      if (!st.ok()) {
        Stop(std::move(st));
        return;
      }
    }
  }

  Status UploadFile(Item* item, std::vector<char>* buf);

  store::ObjectStore* objects_;
  Progress* progress_;
  const int root_;
  const std::string root_shown_;
  const bool pause_after_read_;
  std::vector<std::thread> threads_;
  std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  std::deque<Item*> queue_;
  bool closed_ = false;
  Status error_;
  std::atomic<bool> stop_{false};
};

struct Uploader::Plan {
  // Pre-order: a directory before everything in it, so it is created with
  // its own attributes (adding entries later does not touch its mtime).
  std::deque<Item> items;
  Pool* pool = nullptr;
  Progress* progress = nullptr;
  std::string root_shown;  // LOCAL as given, for messages
  uint64_t total_bytes = 0;
  uint64_t files = 0, dirs = 0, symlinks = 0, skipped = 0;
};

void Uploader::Add(Item item, Plan* plan) {
  switch (item.kind) {
    case Item::Kind::kFile:
      ++plan->files;
      plan->total_bytes += item.size;
      plan->progress->AddTotal(item.size);
      break;
    case Item::Kind::kDir:
      ++plan->dirs;
      break;
    case Item::Kind::kSymlink:
      ++plan->symlinks;
      break;
  }
  plan->items.push_back(std::move(item));
  if (plan->items.back().kind == Item::Kind::kFile) plan->pool->Enqueue(&plan->items.back());
}

Uploader::Uploader(volume::Engine* engine, store::VolumeRecord volume, std::string where)
    : engine_(engine), volume_(std::move(volume)), where_(std::move(where)) {}

Uploader::~Uploader() = default;

Status Uploader::Conflict(const Path& path, bool local_is_dir, const objects::Entry* existing,
                          bool* replace) const {
  *replace = false;
  if (existing == nullptr) return Status::Ok();
  const std::string p = JoinVolumePath(path);
  bool remote_is_dir = existing->type() == objects::DIRECTORY;
  if (local_is_dir) {
    if (remote_is_dir) return Status::Ok();  // merge
    if (!force_) {
      return Status::AlreadyExists(where_ + ": '" + p +
                                   "' already exists and is not a directory (use --force to "
                                   "replace it)");
    }
    *replace = true;
    return Status::Ok();
  }
  if (remote_is_dir) {
    return Status::FailedPrecondition(where_ + ": '" + p +
                                      "' is a directory; a file cannot replace it (remove it "
                                      "first with `snapvol volume rm -r`)");
  }
  if (!force_) {
    return Status::AlreadyExists(where_ + ": '" + p +
                                 "' already exists (use --force to overwrite)");
  }
  return Status::Ok();
}

Status Uploader::Walk(UniqueFd dir, const std::string& rel_dir, const Path& remote_dir,
                      const objects::Entry* remote_existing, Plan* plan) {
  // What is already there, loaded once per directory, so checking N files
  // costs one listing instead of N lookups from the root.
  std::unordered_map<std::string, objects::Entry> existing;
  if (remote_existing != nullptr && remote_existing->type() == objects::DIRECTORY) {
    auto tree = volume::TreeOf(*remote_existing);
    if (!tree.ok()) return Context::InContext(tree.status(), where_);
    Status st = engine_->reader().ForEach(*tree, [&](const objects::Entry& e) {
      objects::Entry slim;  // content refs are not needed for the checks
      slim.set_type(e.type());
      slim.set_tree(e.tree());
      existing.emplace(e.name(), std::move(slim));
      return Status::Ok();
    });
    if (!st.ok()) return Context::InContext(st, where_);
  }

  auto shown = [&](const std::string& rel) {
    return rel.empty() ? plan->root_shown : JoinLocal(plan->root_shown, rel);
  };
  DIR* d = ::fdopendir(dir.get());
  if (d == nullptr) return LocalError(errno, shown(rel_dir), "cannot read directory");
  dir.Release();
  std::unique_ptr<DIR, int (*)(DIR*)> closer(d, ::closedir);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* de = ::readdir(d)) {
    std::string_view n = de->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  if (errno != 0) return LocalError(errno, shown(rel_dir), "cannot read directory");
  std::sort(names.begin(), names.end());

  // Everything is opened relative to this directory's fd and never through
  // a symlink: the tree may belong to someone who swaps a directory for a
  // symlink to /etc while we walk it (issue 12).
  for (const std::string& name : names) {
    const std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
    struct stat st {};
    if (::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed while we walk
      return LocalError(errno, shown(rel), "cannot stat");
    }
    Path remote = Child(remote_dir, name);
    auto found = existing.find(name);
    const objects::Entry* there = found == existing.end() ? nullptr : &found->second;
    Item item;
    item.remote = remote;
    item.mode = st.st_mode & 07777;
    item.uid = st.st_uid;
    item.gid = st.st_gid;
    item.mtime_ns = MtimeNs(st);
    if (plan->pool->failed()) return Status::Ok();  // Finish() reports it
    if (S_ISDIR(st.st_mode)) {
      RETURN_IF_ERROR(Conflict(remote, true, there, &item.replace));
      UniqueFd sub(
          ::openat(::dirfd(d), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      struct stat opened {};
      if (!sub.valid()) {
        if (errno == ENOENT) continue;
        if (errno == ELOOP || errno == ENOTDIR) {
          return Changed(shown(rel), "a directory was replaced by a symlink or file");
        }
        return LocalError(errno, shown(rel), "cannot read directory");
      }
      if (::fstat(sub.get(), &opened) != 0) return LocalError(errno, shown(rel), "cannot stat");
      if (!SameFile(st, opened)) {
        return Changed(shown(rel), "it is no longer the directory that was listed");
      }
      item.kind = Item::Kind::kDir;
      bool replace = item.replace;
      Add(std::move(item), plan);
      RETURN_IF_ERROR(Walk(std::move(sub), rel, remote, replace ? nullptr : there, plan));
      continue;
    } else if (S_ISREG(st.st_mode)) {
      RETURN_IF_ERROR(Conflict(remote, false, there, &item.replace));
      item.kind = Item::Kind::kFile;
      item.attrs_from_file = true;
      item.local = rel;
      item.dev = st.st_dev;
      item.ino = st.st_ino;
      item.size = static_cast<uint64_t>(st.st_size);
    } else if (S_ISLNK(st.st_mode)) {
      RETURN_IF_ERROR(Conflict(remote, false, there, &item.replace));
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(::dirfd(d), name.c_str(), target.data(), target.size());
      if (n < 0) {
        if (errno == EINVAL) return Changed(shown(rel), "a symlink was replaced");
        return LocalError(errno, shown(rel), "cannot read symlink");
      }
      if (static_cast<size_t>(n) == target.size()) {
        return Changed(shown(rel), "a symlink was replaced by a longer one");
      }
      target.resize(static_cast<size_t>(n));
      item.kind = Item::Kind::kSymlink;
      item.local = std::move(target);
    } else {
      std::fprintf(stderr, "snapvol: skipping %s: not a regular file, directory or symlink\n",
                   core::QuoteBytes(shown(rel)).c_str());
      ++plan->skipped;
      continue;
    }
    Add(std::move(item), plan);
  }
  return Status::Ok();
}

namespace {

// Streams one local file into a FileWriter. Sparse regions become holes.
Status ReadInto(int fd, const std::string& path, const struct stat& st, volume::FileWriter* w,
                std::vector<char>* buf, Progress* progress, const std::atomic<bool>* stop) {
  auto read_range = [&](uint64_t off, uint64_t end, bool to_eof) -> Status {
    while (to_eof || off < end) {
      if (stop->load(std::memory_order_relaxed)) return Status::Aborted("upload abandoned");
      size_t want = buf->size();
      if (!to_eof) want = static_cast<size_t>(std::min<uint64_t>(want, end - off));
      ssize_t n = to_eof ? ::read(fd, buf->data(), want)
                         : ::pread(fd, buf->data(), want, static_cast<off_t>(off));
      if (n < 0) {
        if (errno == EINTR) continue;
        return LocalError(errno, path, "cannot read");
      }
      if (n == 0) break;
      RETURN_IF_ERROR(w->Write(std::string_view(buf->data(), static_cast<size_t>(n))));
      progress->Add(static_cast<uint64_t>(n));
      off += static_cast<uint64_t>(n);
    }
    return Status::Ok();
  };
  bool sparse = S_ISREG(st.st_mode) && st.st_size > 0 &&
                static_cast<uint64_t>(st.st_blocks) * 512 < static_cast<uint64_t>(st.st_size);
  if (!sparse) return read_range(0, 0, true);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t off = 0;
  while (off < size) {
    off_t data = ::lseek(fd, static_cast<off_t>(off), SEEK_DATA);
    uint64_t data_at = data < 0 ? size : static_cast<uint64_t>(data);
    if (data < 0 && errno != ENXIO) return read_range(off, size, false);  // no SEEK_DATA here
    if (data_at > off) {
      RETURN_IF_ERROR(w->WriteHole(data_at - off));
      progress->Add(data_at - off);
      off = data_at;
    }
    if (off >= size) break;
    off_t hole = ::lseek(fd, static_cast<off_t>(off), SEEK_HOLE);
    uint64_t hole_at = hole < 0 ? size : std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    RETURN_IF_ERROR(read_range(off, hole_at, false));
    off = hole_at;
  }
  return Status::Ok();
}

}  // namespace

Status Uploader::Pool::UploadFile(Item* item, std::vector<char>* buf) {
  const bool walked = !item->fd.valid();
  const std::string shown = walked ? JoinLocal(root_shown_, item->local) : item->local;
  UniqueFd fd =
      walked ? UniqueFd(OpenBeneath(root_, item->local, O_RDONLY | O_NOCTTY)) : std::move(item->fd);
  if (!fd.valid()) {
    if (errno == ELOOP || errno == ENOTDIR || errno == EXDEV) {
      return Changed(shown, "a symlink appeared on its path");
    }
    return LocalError(errno, shown, "cannot open");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return LocalError(errno, shown, "cannot stat");
  if (walked && (st.st_dev != item->dev || st.st_ino != item->ino || !S_ISREG(st.st_mode))) {
    return Changed(shown, "it is no longer the file that was listed");
  }
  if (S_ISDIR(st.st_mode)) {
    return Status::FailedPrecondition("'" + shown + "' became a directory");
  }
  if (S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) > kReadBuffer) {
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  // A regular file is fstat'ed again through the same fd after it is read:
  // if it was written meanwhile, the bytes read may mix old and new data,
  // so it is read again, from where reading began (stdin may start past 0).
  const off_t start = S_ISREG(st.st_mode) ? ::lseek(fd.get(), 0, SEEK_CUR) : 0;
  for (int attempt = 1;; ++attempt) {
    volume::FileWriter writer(objects_);
    RETURN_IF_ERROR(ReadInto(fd.get(), shown, st, &writer, buf, progress_, &stop_));
    struct stat after = st;
    if (S_ISREG(st.st_mode)) {
      PauseForTest(pause_after_read_);
      if (::fstat(fd.get(), &after) != 0) return LocalError(errno, shown, "cannot stat");
    }
    if (SameContentStamp(st, after)) {
      ASSIGN_OR_RETURN(objects::Content content, writer.Finish());
      item->content = std::move(content);
      item->size = writer.size();
      if (item->attrs_from_file) {
        // The attributes of the state that was read, not of the listing.
        item->mode = after.st_mode & 07777;
        item->uid = after.st_uid;
        item->gid = after.st_gid;
        item->mtime_ns = MtimeNs(after);
      }
      return Status::Ok();
    }
    if (attempt == kReadAttempts) {
      return Changed(
          shown, "it was written to during each of " + std::to_string(kReadAttempts) + " reads");
    }
    progress_->AddTotal(writer.size());  // read again
    st = after;
    if (::lseek(fd.get(), start, SEEK_SET) < 0) return LocalError(errno, shown, "cannot read");
  }
}

Result<PutResult> Uploader::Put(const PutRequest& req) {
  force_ = req.force;
  std::string remote = req.remote.empty() ? "/" : req.remote;
  if (remote.back() == '/') {
    std::string_view base = PyBasename(req.local);
    if (base != "." && base != ".." && base != "-") remote += base;
  }
  auto split = core::SplitVolumePath(remote);
  if (!split.ok()) return UsageError(where_ + ": " + split.status().message());
  Path target = std::move(split).value();

  auto head = engine_->Head(volume_);
  if (!head.ok()) return Context::InContext(head.status(), where_);
  ASSIGN_OR_RETURN(const objects::Entry root, RootOf(engine_, *head));
  auto resolve = [&](const Path& p) { return ResolveIn(engine_, root, p, where_); };

  struct stat st {};
  const bool from_stdin = req.local == "-";
  UniqueFd local;
  if (from_stdin) {
    if (::fstat(STDIN_FILENO, &st) != 0) return LocalError(errno, "-", "cannot stat stdin");
    local = UniqueFd(::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0));
    if (!local.valid()) return LocalError(errno, "-", "cannot read stdin");
  } else {
    // LOCAL as typed is followed if it is a symlink (like `cp -r` and modal:
    // the user named it); nothing below it ever is. stat() first, so a
    // socket or block device is refused without being opened.
    if (::stat(req.local.c_str(), &st) != 0) {
      return LocalError(errno, req.local, "cannot read local path");
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) &&
        !S_ISCHR(st.st_mode)) {
      return Status::FailedPrecondition("local path '" + req.local +
                                        "' is not a file or directory");
    }
    local = UniqueFd(::open(req.local.c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC |
                                                   (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0)));
    if (!local.valid()) return LocalError(errno, req.local, "cannot open");
    struct stat opened {};
    if (::fstat(local.get(), &opened) != 0) return LocalError(errno, req.local, "cannot stat");
    if (!SameFile(st, opened)) return Changed(req.local, "it was replaced while being opened");
    st = opened;
  }
  const bool walk = S_ISDIR(st.st_mode) && !from_stdin;

  // Declaration order matters: the pool's workers use `local`, `progress`
  // and the items in `plan`, so it is destroyed (joined) before them.
  Progress progress("put", 0);
  Plan plan;
  plan.root_shown = req.local;
  Pool pool(&engine_->objects(), &progress, walk ? local.get() : -1, req.local);
  plan.pool = &pool;
  plan.progress = &progress;
  // The test hook holds every read back until the walk is done.
  const bool pause_after_walk = std::getenv(kPauseAfterWalk) != nullptr;
  if (!pause_after_walk) pool.Start(UploadThreads());
  if (!walk) {
    std::string base = from_stdin ? "" : LastComponent(req.local);
    bool into_dir = target.empty();
    if (!into_dir) {
      ASSIGN_OR_RETURN(auto e, resolve(target));
      into_dir = e.has_value() && e->type() == objects::DIRECTORY;
    }
    if (into_dir) {
      if (base.empty() || base == "." || base == "..") {
        return UsageError(where_ + ": name the remote file to write, e.g. `snapvol volume put " +
                          volume_.name + " " + req.local + " /file`");
      }
      target.push_back(base);
    }
    RETURN_IF_ERROR(CheckParents(engine_, root, target, where_));
    ASSIGN_OR_RETURN(auto existing, resolve(target));
    Item item;
    RETURN_IF_ERROR(Conflict(target, false, existing ? &*existing : nullptr, &item.replace));
    item.kind = Item::Kind::kFile;
    item.remote = target;
    item.local = req.local;
    item.fd = std::move(local);
    if (S_ISREG(st.st_mode) && !from_stdin) {
      item.attrs_from_file = true;
      item.mode = st.st_mode & 07777;
      item.mtime_ns = MtimeNs(st);
      item.size = static_cast<uint64_t>(st.st_size);
      item.uid = st.st_uid;
      item.gid = st.st_gid;
    } else {
      item.mode = 0644;
      item.mtime_ns = engine_->env()->NowNanos();
      item.uid = ::geteuid();
      item.gid = ::getegid();
    }
    Add(std::move(item), &plan);
  } else {
    RETURN_IF_ERROR(CheckParents(engine_, root, target, where_));
    std::optional<objects::Entry> existing;
    if (target.empty()) {
      existing = root;
    } else {
      ASSIGN_OR_RETURN(existing, resolve(target));
    }
    bool replace = false;
    if (!target.empty()) {
      Item top;
      RETURN_IF_ERROR(Conflict(target, true, existing ? &*existing : nullptr, &top.replace));
      replace = top.replace;
      top.kind = Item::Kind::kDir;
      top.remote = target;
      top.mode = st.st_mode & 07777;
      top.uid = st.st_uid;
      top.gid = st.st_gid;
      top.mtime_ns = MtimeNs(st);
      Add(std::move(top), &plan);
    }
    // Its own open file description: readdir moves the offset.
    UniqueFd dir(::openat(local.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) return LocalError(errno, req.local, "cannot read directory");
    RETURN_IF_ERROR(
        Walk(std::move(dir), "", target, existing && !replace ? &*existing : nullptr, &plan));
  }
  if (pause_after_walk) {
    PauseForTest(pause_after_walk);
    pool.Start(UploadThreads());
  }

  RETURN_IF_ERROR(pool.Finish());
  progress.Finish();

  volume::ChangeSet changes;
  // A directory replacing a non-directory: the old entry goes first. A file
  // replacing a file needs no delete; Put replaces.
  for (const Item& item : plan.items) {
    if (item.replace && item.kind == Item::Kind::kDir) {
      changes.Add(ChangeOp{ChangeOp::Kind::kDelete, item.remote, {}, {}, {}});
    }
  }
  uint64_t bytes = 0;
  for (Item& item : plan.items) {
    objects::Entry e;
    e.set_name(item.remote.back());
    e.set_mode(item.mode);
    e.set_uid(item.uid);
    e.set_gid(item.gid);
    e.set_mtime_ns(item.mtime_ns);
    ChangeOp::Kind kind = ChangeOp::Kind::kPut;
    switch (item.kind) {
      case Item::Kind::kFile:
        e.set_type(objects::FILE);
        e.set_size(item.size);
        *e.mutable_content() = std::move(item.content);
        bytes += item.size;
        break;
      case Item::Kind::kSymlink:
        e.set_type(objects::SYMLINK);
        e.set_mode(0777);
        e.set_size(item.local.size());
        e.set_symlink_target(item.local);
        break;
      case Item::Kind::kDir:
        e.set_type(objects::DIRECTORY);
        kind = ChangeOp::Kind::kMkdir;
        break;
    }
    changes.Add(ChangeOp{kind, std::move(item.remote), {}, std::move(e), {}});
  }
  changes.add_bytes_written(bytes);
  if (Status packed = volume::PackChangeSet(engine_->objects(), &changes); !packed.ok()) {
    return Context::InContext(packed.Annotate("storing small files"), where_);
  }

  volume::CommitOptions options;
  options.author = volume::DefaultAuthor("cli");
  options.message = "put " + req.local + " " + JoinVolumePath(target);
  auto commit = engine_->Commit(volume_, changes, options);
  if (!commit.ok()) return Context::InContext(commit.status(), where_);

  PutResult result;
  result.commit = std::move(commit).value();
  result.target = JoinVolumePath(target);
  result.files = plan.files;
  result.dirs = plan.dirs;
  result.symlinks = plan.symlinks;
  result.skipped = plan.skipped;
  result.bytes = bytes;
  return result;
}

}  // namespace snapvol::cli
