#include "driver/fs/mount_server.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "driver/core/monotonic_clock.h"
#include "driver/fs/control_json.h"
#include "driver/fs/posix_error.h"
#include "driver/fs/recovery.h"
#include "driver/fs/state_layout.h"
#include "driver/volume/inline_pack.h"

namespace snapvol::fs {
namespace {

namespace stdfs = std::filesystem;

// On ext4 without a journal (this project's VMs) every inode allocation
// skips the inodes of its block group deleted in the last ~30 s, reading
// each one's inode-table block (recently_deleted()): a mount creating
// files right after another mount's write layer was removed paid ~0.2 ms of
// CPU per create. The Orlov allocator spreads the children of a "top
// directory" over block groups, so each mount's write layer lands away
// from the last one's deletions. Best effort: other file systems ignore or
// refuse the flag, which changes nothing else.
void SpreadChildren(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  int flags = 0;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_TOPDIR_FL) == 0) {
    flags |= FS_TOPDIR_FL;
    (void)::ioctl(fd, FS_IOC_SETFLAGS, &flags);
  }
  ::close(fd);
}

// Sizes of the per-mount caches.
// Decoded tree pages cost ~350 bytes per entry. A walk binds a node for
// every entry it lists, so most cached pages are never read again, and on a
// paravirtualised VM each fresh page of memory costs a slow fault: a cold
// `find` over 100k files took 0.81 s of server CPU with 64 MiB here and
// 0.59-0.66 s with 16 MiB.
constexpr size_t kTreeCacheBytes = 16 << 20;
constexpr size_t kChunkCacheFiles = 512;
constexpr size_t kChunkCacheBytes = 128 << 20;
std::string NewMountId() {
  std::random_device rd;
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 16; ++i) id.push_back(kHex[rd() & 0xf]);
  return id;
}

}  // namespace

Result<std::unique_ptr<MountServer>> MountServer::Open(const MountOptions& options) {
  std::unique_ptr<MountServer> s(new MountServer(options));
  MountOptions& o = s->options_;
  if (o.version != 0) o.read_only = true;
  if (o.state_dir.empty()) o.state_dir = DefaultStateDir(o.store);
  core::Env* env = core::Env::Default();
  ASSIGN_OR_RETURN(s->store_, store::OpenStore(o.store, env));
  for (const std::string& w : s->store_->warnings) {
    std::fprintf(stderr, "snapvol mount: warning: %s\n", w.c_str());
  }
  s->engine_ = std::make_unique<volume::Engine>(s->store_.get(), env);

  // Anything a crashed server of this node left behind lands first, so
  // this mount shows it (S9).
  Result<RecoverReport> recovered = RecoverMounts(*s->engine_, o.state_dir);
  if (!recovered.ok()) {
    std::fprintf(stderr, "snapvol mount: recovery failed: %s\n",
                 recovered.status().ToString().c_str());
  }

  ASSIGN_OR_RETURN(s->volume_, s->engine_->GetVolume(o.environment, o.volume));
  volume::Snapshot snap;
  if (o.version != 0) {
    ASSIGN_OR_RETURN(snap, s->engine_->AtVersion(s->volume_, o.version));
  } else {
    ASSIGN_OR_RETURN(snap, s->engine_->Head(s->volume_));
  }

  s->mount_id_ = NewMountId();
  ViewOptions vo;
  vo.env = env;
  vo.read_only = o.read_only;
  vo.inode_limit = s->volume_.inode_limit;
  if (!o.read_only) {
    const StateLayout state(o.state_dir);
    s->mount_dir_ = state.MountDir(s->mount_id_);
    const MountDirLayout layout(s->mount_dir_);
    RETURN_IF_ERROR(env->CreateDirs(state.MountsDir()));
    SpreadChildren(state.MountsDir());
    RETURN_IF_ERROR(env->CreateDirs(layout.DataDir()));
    ASSIGN_OR_RETURN(s->lock_, env->TryLockFile(layout.LockFile()));
    MountInfo info;
    info.id = s->mount_id_;
    info.store = o.store;
    info.environment = o.environment;
    info.volume = o.volume;
    info.volume_id = s->volume_.id;
    info.mountpoint = o.mountpoint;
    info.container = o.container;
    info.pid = static_cast<int>(::getpid());
    info.base_version = snap.version;
    info.read_only = o.read_only;
    info.commit_interval_ms = o.commit_interval.count();
    info.created_ns = env->NowNanos();
    {
      ASSIGN_OR_RETURN(std::unique_ptr<core::WritableFile> f,
                       env->NewWritableFile(layout.InfoFile() + ".tmp"));
      RETURN_IF_ERROR(f->Append(EncodeMountInfo(info)));
      RETURN_IF_ERROR(f->Sync());
      RETURN_IF_ERROR(f->Close());
      RETURN_IF_ERROR(env->RenameFile(layout.InfoFile() + ".tmp", layout.InfoFile()));
    }
    ASSIGN_OR_RETURN(s->journal_, Journal::Open(s->mount_dir_, 1, env));
    RETURN_IF_ERROR(env->SyncDir(s->mount_dir_));
    // Registered while it may hold pending changes: a delete of the volume
    // is refused meanwhile (Engine::DeleteVolume).
    store::MountRecord record;
    record.mount_id = s->mount_id_;
    record.volume_id = s->volume_.id;
    record.host = volume::HostName();
    record.pid = ::getpid();
    record.mountpoint = o.mountpoint;
    record.state_dir = s->mount_dir_;
    record.created_ns = info.created_ns;
    RETURN_IF_ERROR(s->store_->catalog->AddMount(record).Annotate("registering the mount"));
    vo.data_dir = layout.DataDir();
  }
  s->trees_ = std::make_unique<TreeCache>(s->store_->objects.get(), kTreeCacheBytes);
  s->chunks_ =
      std::make_unique<ChunkCache>(s->store_->objects.get(), kChunkCacheFiles, kChunkCacheBytes);
  const std::string files_dir = StateLayout(o.state_dir).FilesDir();
  s->files_ = std::make_unique<FileCache>(files_dir, FileCache::BudgetFor(files_dir),
                                          s->chunks_.get(), env);
  s->view_ = std::make_unique<View>(vo, s->store_->objects.get(), s->trees_.get(), s->chunks_.get(),
                                    s->journal_.get());
  RETURN_IF_ERROR(s->view_->Attach(snap));
  s->committer_ = std::make_unique<Committer>(s->view_.get(), s->engine_.get());
  return s;
}

MountServer::~MountServer() { StopBackground(); }

std::string MountServer::fsname() const {
  return "snapvol:" + options_.environment + "/" + options_.volume;
}

Result<CommitInfo> MountServer::Commit(CommitTrigger trigger, std::optional<uint32_t> by_uid) {
  std::lock_guard<std::mutex> control(control_mu_);
  Result<CommitInfo> r = CommitLocked(trigger, by_uid);
  std::lock_guard<std::mutex> lock(status_mu_);
  has_last_ = true;
  last_ok_ = r.ok();
  if (r.ok()) {
    last_ = *r;
    last_error_.clear();
  } else {
    last_.trigger = CommitTriggerName(trigger);
    last_.time_ns = core::Env::Default()->NowNanos();
    last_error_ = r.status().ToString();
  }
  return r;
}

Result<CommitInfo> MountServer::CommitLocked(CommitTrigger trigger,
                                             std::optional<uint32_t> by_uid) {
  if (options_.read_only) return PosixError(EROFS, "the mount is read-only");
  volume::CommitOptions opts;
  opts.author = by_uid ? volume::AuthorAs(options_.author_tool, *by_uid)
                       : volume::DefaultAuthor(options_.author_tool);
  opts.author.set_pod(options_.pod);
  opts.author.set_pod_namespace(options_.pod_namespace);
  opts.author.set_container(options_.container);
  opts.message =
      std::string(CommitTriggerName(trigger)) + " commit of mount " + options_.mountpoint;
  ASSIGN_OR_RETURN(CommitOutcome outcome, committer_->Commit(volume_, trigger, opts));
  const volume::CommitResult& result = outcome.result;
  CommitInfo info;
  info.version = result.version;
  info.empty = result.empty;
  info.changes = outcome.changes;
  info.deferred = outcome.deferred;
  info.attempts = result.attempts;
  info.time_ns = core::Env::Default()->NowNanos();
  info.trigger = CommitTriggerName(trigger);
  if (!result.empty) ++commits_;
  return info;
}

Result<Invalidations> MountServer::Reload() {
  std::lock_guard<std::mutex> control(control_mu_);
  if (options_.version != 0) {
    return PosixError(EROFS, "the mount is pinned to version " + std::to_string(options_.version));
  }
  ASSIGN_OR_RETURN(volume::Snapshot snap, engine_->Head(volume_));
  if (snap.version == view_->base_version()) return Invalidations();
  ASSIGN_OR_RETURN(Invalidations inv, view_->Rebase(snap));
  ++reloads_;
  return inv;
}

MountStatus MountServer::CurrentStatus() {
  MountStatus s;
  s.volume = options_.volume;
  s.environment = options_.environment;
  s.store = options_.store;
  s.mountpoint = options_.mountpoint;
  s.state_dir = options_.state_dir;
  s.mount_id = mount_id_;
  s.version = view_->base_version();
  s.read_only = options_.read_only;
  s.pinned = options_.version != 0;
  s.pending = view_->PendingCount();
  s.commit_interval_ms = options_.commit_interval.count();
  s.pid = static_cast<int>(::getpid());
  s.inodes = view_->inodes();
  s.inode_limit = volume_.inode_limit;
  s.commits = commits_.load();
  s.reloads = reloads_.load();
  s.passthrough = passthrough_.load();
  s.passthrough_opens = passthrough_opens_.load();
  s.reads = reads_.load();
  const FileCache::Stats fc = files_->stats();
  s.file_cache_hits = fc.hits;
  s.file_cache_fills = fc.fills;
  s.file_cache_fill_failures = fc.fill_failures;
  std::lock_guard<std::mutex> lock(status_mu_);
  s.has_last_commit = has_last_;
  s.last_commit_ok = last_ok_;
  s.last_commit_error = last_error_;
  s.last_commit = last_;
  return s;
}

std::string MountServer::EncodeStatusJson(const MountStatus& s) { return EncodeMountStatus(s); }

void MountServer::StartBackground() {
  if (options_.read_only || options_.commit_interval.count() <= 0 || bg_.joinable()) return;
  bg_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(bg_mu_);
    while (!stop_) {
      bg_cv_.wait_for(lock, options_.commit_interval, [this] { return stop_; });
      if (stop_) break;
      lock.unlock();
      if (view_->HasPending()) {
        Result<CommitInfo> r = Commit(CommitTrigger::kBackground);
        if (!r.ok()) {
          std::fprintf(stderr, "snapvol mount: background commit failed: %s\n",
                       r.status().ToString().c_str());
        }
      }
      lock.lock();
    }
  });
}

void MountServer::StopBackground() {
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_.joinable()) bg_.join();
}

core::Status MountServer::Shutdown() {
  StopBackground();
  if (options_.read_only) return core::Status::Ok();
  Result<CommitInfo> r = Commit(CommitTrigger::kFinal);
  if (!r.ok()) {
    return r.status().Annotate("final commit failed; changes stay in " + mount_dir_ +
                               " for `snapvol recover`");
  }
  if (view_->HasPending()) {
    return core::Status::Unavailable("changes still pending after the final commit; left in " +
                                     mount_dir_);
  }
  journal_.reset();
  lock_.reset();
  std::error_code ec;
  stdfs::remove_all(mount_dir_, ec);
  if (Status s = store_->catalog->RemoveMount(mount_id_); !s.ok()) {
    // Harmless: a record whose server and state are gone is dropped by the
    // next delete of the volume.
    std::fprintf(stderr, "snapvol mount: unregistering the mount: %s\n", s.ToString().c_str());
  }
  return core::Status::Ok();
}

}  // namespace snapvol::fs
