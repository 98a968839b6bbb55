#include "driver/cli/downloader.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <vector>

#include "driver/cli/context.h"
#include "driver/cli/format.h"
#include "driver/cli/local_path.h"
#include "driver/cli/progress.h"
#include "driver/cli/remote_tree.h"
#include "driver/cli/unique_fd.h"
#include "driver/core/names.h"
#include "driver/core/text.h"
#include "driver/volume/file_reader.h"

namespace snapvol::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void OnSignal(int) { g_interrupted.store(true); }

// Turns SIGINT/SIGTERM/SIGHUP into a flag for the duration of a get, so the
// temporary file being written is removed instead of left behind. No
// SA_RESTART: a blocked write returns EINTR and sees the flag.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupted.store(false);
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~InterruptGuard() {
    for (size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
  }

 private:
  static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old_[std::size(kSignals)]{};
};

Status Interrupted() { return Status::Aborted("interrupted"); }

Status LocalError(int err, const std::string& path, std::string_view what) {
  return Status::FromErrno(err, std::string(what) + " '" + path + "'");
}

// write(2) of all of `data` (offset < 0), or pwrite(2) of it at `offset`
// (safe from several threads at once).
Status WriteFully(int fd, int64_t offset, std::string_view data, const std::string& shown) {
  while (!data.empty()) {
    ssize_t n = offset < 0 ? ::write(fd, data.data(), data.size())
                           : ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) {
        if (g_interrupted.load()) return Interrupted();
        continue;
      }
      return LocalError(errno, shown, "cannot write");
    }
    data.remove_prefix(static_cast<size_t>(n));
    if (offset >= 0) offset += n;
  }
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view data, const std::string& shown) {
  return WriteFully(fd, -1, data, shown);
}

Status PwriteAll(int fd, uint64_t offset, std::string_view data, const std::string& shown) {
  return WriteFully(fd, static_cast<int64_t>(offset), data, shown);
}

std::string TempName() {
  static std::atomic<uint64_t> counter{0};
  return ".snapvol-get-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".tmp";
}

struct timespec ToTimespec(int64_t ns) {
  struct timespec ts {};
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1'000'000'000;
    --ts.tv_sec;
  }
  return ts;
}

std::string JoinRemote(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

Status SymlinkRefusal(const std::string& shown) {
  return Status::FailedPrecondition("local path '" + shown +
                                    "' is a symlink; refusing to write through it (remove it "
                                    "first; --force does not override this)");
}

}  // namespace

struct Downloader::Node {
  objects::Entry entry;
  std::vector<Node> children;  // DIRECTORY, in name order
  bool replace = false;        // an existing local non-directory may be replaced (--force)
};

Downloader::Downloader(volume::Engine* engine, const volume::Snapshot& snap, std::string where)
    : engine_(engine), snap_(snap), where_(std::move(where)) {}

Downloader::~Downloader() = default;

Status Downloader::RemoteError(const Status& status, const std::string& remote) const {
  std::string ctx = where_ + ": '" + remote + "'";
  return Context::InContext(status, ctx);
}

Status Downloader::PlanChildren(int dirfd, const std::string& shown, const std::string& remote,
                                Node* node) {
  auto tree = volume::TreeOf(node->entry);
  if (!tree.ok()) return RemoteError(tree.status(), remote);
  return engine_->reader().ForEach(*tree, [&](const objects::Entry& child) {
    Node c;
    RETURN_IF_ERROR(Plan(dirfd, child.name(), child, JoinLocal(shown, child.name()),
                         JoinRemote(remote, child.name()), &c));
    node->children.push_back(std::move(c));
    return Status::Ok();
  });
}

// Walks the remote subtree and, alongside it, what already exists locally
// (read-only, never following a symlink), so every conflict is reported
// before the first byte is written. `dirfd` is -1 below a directory that
// does not exist locally yet.
Status Downloader::Plan(int dirfd, const std::string& name, const objects::Entry& entry,
                        const std::string& shown, const std::string& remote, Node* node) {
  // Tree walks hand out validated names, but a damaged store must never be
  // able to smuggle "../x" or "a/b" into an openat().
  Status valid = core::ValidateComponent(name);
  if (!valid.ok()) return Status::Corruption(where_ + ": '" + remote + "': " + valid.message());
  node->entry = entry;
  UniqueFd existing_dir;
  if (dirfd >= 0) {
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISLNK(st.st_mode)) {
        if (entry.type() != objects::SYMLINK || !force_) {
          if (entry.type() == objects::SYMLINK) {
            return Status::AlreadyExists("local symlink '" + shown +
                                         "' already exists (use --force to replace it)");
          }
          return SymlinkRefusal(shown);
        }
        node->replace = true;
      } else if (S_ISDIR(st.st_mode)) {
        if (entry.type() != objects::DIRECTORY) {
          return Status::FailedPrecondition(
              "local path '" + shown + "' is a directory; cannot replace it with the " +
              std::string(TypeName(entry.type())) + " '" + remote + "' of " + where_);
        }
        existing_dir = UniqueFd(
            ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!existing_dir.valid()) {
          if (errno == ELOOP || errno == ENOTDIR) return SymlinkRefusal(shown);
          return LocalError(errno, shown, "cannot open directory");
        }
      } else if (!force_) {
        return Status::AlreadyExists("local file '" + shown +
                                     "' already exists (use --force to overwrite)");
      } else {
        node->replace = true;
      }
    } else if (errno != ENOENT) {
      return LocalError(errno, shown, "cannot stat");
    }
  }
  if (entry.type() == objects::DIRECTORY) {
    RETURN_IF_ERROR(
        PlanChildren(existing_dir.valid() ? existing_dir.get() : -1, shown, remote, node));
  }
  return Status::Ok();
}

// Re-checked right before each rename: the local tree may have changed
// since Plan() looked at it.
Status Downloader::CheckTarget(int dirfd, const std::string& name, const std::string& shown,
                               bool symlink_ok) const {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return LocalError(errno, shown, "cannot stat");
  }
  if (S_ISLNK(st.st_mode) && !symlink_ok) return SymlinkRefusal(shown);
  if (S_ISDIR(st.st_mode)) {
    return Status::FailedPrecondition("local path '" + shown + "' is a directory");
  }
  if (!force_) {
    return Status::AlreadyExists("local file '" + shown +
                                 "' already exists (use --force to overwrite)");
  }
  return Status::Ok();
}

Status Downloader::SetOwnerAndMode(int fd, int dirfd, const std::string& name,
                                   const objects::Entry& e, const std::string& shown) const {
  if (same_owner_) {
    // Before the chmod: chown(2) clears set-uid/set-gid bits.
    int rc = fd >= 0 ? ::fchown(fd, e.uid(), e.gid())
                     : ::fchownat(dirfd, name.c_str(), e.uid(), e.gid(), AT_SYMLINK_NOFOLLOW);
    if (rc != 0) {
      return LocalError(errno, shown,
                        "cannot restore owner " + std::to_string(e.uid()) + ":" +
                            std::to_string(e.gid()) + " (--same-owner) of");
    }
  }
  if (fd < 0) return Status::Ok();  // a symlink has no mode of its own
  const uint32_t mode = e.mode() & (same_owner_ ? 07777u : 01777u);
  if (::fchmod(fd, mode) != 0) return LocalError(errno, shown, "cannot chmod");
  return Status::Ok();
}

Status Downloader::WriteFile(int dirfd, const std::string& name, const std::string& shown,
                             const std::string& remote, const Node& node) {
  const objects::Entry& e = node.entry;
  const std::string tmp = TempName();
  UniqueFd fd(
      ::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return LocalError(errno, JoinLocal(ParentOf(shown), tmp), "cannot create");
  Status st = [&]() -> Status {
    auto reader = volume::FileReader::Open(&engine_->objects(), e.content(), e.size());
    if (!reader.ok()) return RemoteError(reader.status(), remote);
    // The temporary file gets its final size first, so holes need no
    // writes (they stay sparse) and chunks can land in any order: workers
    // read, verify and write chunks in parallel.
    if (::ftruncate(fd.get(), static_cast<off_t>(e.size())) != 0) {
      return LocalError(errno, shown, "cannot write");
    }
    std::atomic<bool> local_failed{false};
    Status read = (*reader)->ReadAllUnordered([&](uint64_t offset, std::string_view data) {
      if (g_interrupted.load()) return Interrupted();
      Status w = PwriteAll(fd.get(), offset, data, shown);
      if (!w.ok()) {
        local_failed.store(true);
        return w;
      }
      progress_->Add(data.size());
      return Status::Ok();
    });
    if (!read.ok()) return local_failed.load() ? read : RemoteError(read, remote);
    RETURN_IF_ERROR(SetOwnerAndMode(fd.get(), -1, "", e, shown));
    struct timespec times[2] = {{0, UTIME_OMIT}, ToTimespec(e.mtime_ns())};
    if (::futimens(fd.get(), times) != 0) return LocalError(errno, shown, "cannot set mtime");
    // close(2) reports delayed write errors on some file systems (NFS).
    if (::close(fd.Release()) != 0) return LocalError(errno, shown, "cannot write");
    RETURN_IF_ERROR(CheckTarget(dirfd, name, shown, false));
    if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) {
      return LocalError(errno, shown, "cannot rename into place");
    }
    return Status::Ok();
  }();
  if (!st.ok()) {
    fd.Reset();
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return st;
  }
  ++result_.files;
  result_.bytes += e.size();
  return Status::Ok();
}

Status Downloader::WriteChildren(int dirfd, const std::string& shown, const std::string& remote,
                                 const Node& node) {
  for (const Node& c : node.children) {
    const std::string& name = c.entry.name();
    RETURN_IF_ERROR(Write(dirfd, name, JoinLocal(shown, name), JoinRemote(remote, name), c));
  }
  return Status::Ok();
}

Status Downloader::Write(int dirfd, const std::string& name, const std::string& shown,
                         const std::string& remote, const Node& node) {
  if (g_interrupted.load()) return Interrupted();
  const objects::Entry& e = node.entry;
  switch (e.type()) {
    case objects::FILE:
      return WriteFile(dirfd, name, shown, remote, node);
    case objects::DIRECTORY: {
      const int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
      bool created = false;
      UniqueFd fd(::openat(dirfd, name.c_str(), kDirFlags));
      if (!fd.valid()) {
        int err = errno;
        if (err == ELOOP || err == ENOTDIR) {
          struct stat st {};
          if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
              S_ISLNK(st.st_mode)) {
            return SymlinkRefusal(shown);
          }
          if (!node.replace) {
            return Status::AlreadyExists("local file '" + shown +
                                         "' already exists (use --force to overwrite)");
          }
          if (::unlinkat(dirfd, name.c_str(), 0) != 0) {
            return LocalError(errno, shown, "cannot remove");
          }
          err = ENOENT;
        }
        if (err != ENOENT) return LocalError(err, shown, "cannot open directory");
        // 0700 until its contents are written: the final mode may forbid
        // writing into it.
        if (::mkdirat(dirfd, name.c_str(), 0700) != 0) {
          return LocalError(errno, shown, "cannot create directory");
        }
        created = true;
        fd = UniqueFd(::openat(dirfd, name.c_str(), kDirFlags));
        if (!fd.valid()) return LocalError(errno, shown, "cannot open directory");
      }
      RETURN_IF_ERROR(WriteChildren(fd.get(), shown, remote, node));
      if (created) {
        RETURN_IF_ERROR(SetOwnerAndMode(fd.get(), -1, "", e, shown));
        struct timespec times[2] = {{0, UTIME_OMIT}, ToTimespec(e.mtime_ns())};
        if (::futimens(fd.get(), times) != 0) return LocalError(errno, shown, "cannot set mtime");
      }
      ++result_.dirs;
      return Status::Ok();
    }
    case objects::SYMLINK: {
      const std::string tmp = TempName();
      if (::symlinkat(e.symlink_target().c_str(), dirfd, tmp.c_str()) != 0) {
        return LocalError(errno, shown, "cannot create symlink");
      }
      struct timespec times[2] = {{0, UTIME_OMIT}, ToTimespec(e.mtime_ns())};
      ::utimensat(dirfd, tmp.c_str(), times, AT_SYMLINK_NOFOLLOW);  // best effort
      Status st = SetOwnerAndMode(-1, dirfd, tmp, e, shown);
      if (st.ok()) st = CheckTarget(dirfd, name, shown, true);
      if (st.ok() && ::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) {
        st = LocalError(errno, shown, "cannot rename into place");
      }
      if (!st.ok()) {
        ::unlinkat(dirfd, tmp.c_str(), 0);
        return st;
      }
      ++result_.symlinks;
      return Status::Ok();
    }
    default:
      std::fprintf(stderr, "snapvol: %s: skipping %s: cannot create a %s\n", where_.c_str(),
                   core::QuoteBytes(remote).c_str(), std::string(TypeName(e.type())).c_str());
      ++result_.skipped;
      return Status::Ok();
  }
}

Status Downloader::Stream(const objects::Entry& e, const std::string& remote) {
  if (e.type() != objects::FILE) {
    return Status::FailedPrecondition(where_ + ": '" + remote + "' is a " +
                                      std::string(TypeName(e.type())) +
                                      "; only a file can be streamed to stdout");
  }
  auto reader = volume::FileReader::Open(&engine_->objects(), e.content(), e.size());
  if (!reader.ok()) return RemoteError(reader.status(), remote);
  bool local_failed = false;
  Status st = (*reader)->ReadAll([&](std::string_view data) -> Status {
    if (g_interrupted.load()) return Interrupted();
    Status w = WriteAll(STDOUT_FILENO, data, "<stdout>");
    if (!w.ok()) {
      local_failed = true;
      return w;
    }
    progress_->Add(data.size());
    return Status::Ok();
  });
  if (!st.ok()) return local_failed ? st : RemoteError(st, remote);
  ++result_.files;
  result_.bytes += e.size();
  return Status::Ok();
}

Result<GetResult> Downloader::Get(const GetRequest& req) {
  force_ = req.force;
  same_owner_ = req.same_owner;
  auto split = core::SplitVolumePath(req.remote);
  if (!split.ok()) return UsageError(where_ + ": " + split.status().message());
  const volume::Path path = std::move(split).value();
  const std::string remote = core::JoinVolumePath(path);

  ASSIGN_OR_RETURN(const objects::Entry root, RootOf(engine_, snap_));
  ASSIGN_OR_RETURN(auto found, ResolveIn(engine_, root, path, where_));
  if (!found.has_value()) return Status::NotFound(where_ + ": '" + remote + "' not found");
  const objects::Entry entry = *found;

  InterruptGuard guard;
  const uint64_t total = entry.type() == objects::DIRECTORY ? entry.subtree_bytes() : entry.size();
  Progress progress("get", total);
  progress_ = &progress;

  if (req.local == "-") {
    RETURN_IF_ERROR(Stream(entry, remote));
    result_.written_to = "-";
    return result_;
  }

  std::string local = req.local.empty() ? "." : req.local;
  struct stat st {};
  bool is_dir = false;
  if (::stat(local.c_str(), &st) == 0) {
    is_dir = S_ISDIR(st.st_mode);
    if (!is_dir && local.back() == '/') {
      return Status::FailedPrecondition("local path '" + local + "' is not a directory");
    }
  } else if (errno != ENOENT) {
    return LocalError(errno, local, "cannot stat");
  } else if (local.back() == '/') {
    // "get VOL /f out/": the trailing slash says "into the directory out".
    if (::mkdir(local.c_str(), 0777) != 0) {
      return LocalError(errno, local, "cannot create directory");
    }
    is_dir = true;
  }

  Node node;
  if (is_dir) {
    UniqueFd base(::open(local.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!base.valid()) return LocalError(errno, local, "cannot open directory");
    if (path.empty()) {
      // The volume root's contents go straight into LOCAL.
      node.entry = entry;
      RETURN_IF_ERROR(PlanChildren(base.get(), local, remote, &node));
      RETURN_IF_ERROR(WriteChildren(base.get(), local, remote, node));
      result_.written_to = local;
    } else {
      const std::string& name = path.back();
      const std::string shown = JoinLocal(local, name);
      RETURN_IF_ERROR(Plan(base.get(), name, entry, shown, remote, &node));
      RETURN_IF_ERROR(Write(base.get(), name, shown, remote, node));
      result_.written_to = shown;
    }
  } else {
    const std::string parent = ParentOf(local);
    const std::string name = LastComponent(local);
    if (name.empty() || name == "." || name == "..") {
      return UsageError("invalid local path '" + local + "'");
    }
    UniqueFd base(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!base.valid()) return LocalError(errno, parent, "cannot open directory");
    RETURN_IF_ERROR(Plan(base.get(), name, entry, local, remote, &node));
    RETURN_IF_ERROR(Write(base.get(), name, local, remote, node));
    result_.written_to = local;
  }
  progress.Finish();
  return result_;
}

}  // namespace snapvol::cli
