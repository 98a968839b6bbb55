#include "driver/core/fault_env.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace snapvol::core {
namespace {

class FaultWritableFile : public WritableFile {
 public:
  FaultWritableFile(FaultEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    RETURN_IF_ERROR(env_->Step("append", path_));
    const size_t fits = env_->Reserve(data.size());
    RETURN_IF_ERROR(base_->Append(data.substr(0, fits)));
    size_ += fits;
    if (fits < data.size()) return Status::FromErrno(ENOSPC, "injected full disk: " + path_);
    return Status::Ok();
  }
  Status StartWriteback() override { return base_->StartWriteback(); }
  Status Sync() override {
    RETURN_IF_ERROR(env_->Step("sync", path_));
    RETURN_IF_ERROR(base_->Sync());
    env_->RecordSynced(path_, size_);
    return Status::Ok();
  }
  Status Close() override {
    RETURN_IF_ERROR(env_->Step("close", path_));
    return base_->Close();
  }

 private:
  FaultEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
  uint64_t size_ = 0;
};

class FaultRandomRWFile : public RandomRWFile {
 public:
  FaultRandomRWFile(FaultEnv* env, std::string path, std::unique_ptr<RandomRWFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Result<size_t> WriteSome(uint64_t offset, std::string_view data) override {
    RETURN_IF_ERROR(env_->Step("write", path_));
    const size_t fits = env_->Reserve(data.size());
    if (fits == 0 && !data.empty()) {
      return Status::FromErrno(ENOSPC, "injected full disk: " + path_);
    }
    return base_->WriteSome(offset, data.substr(0, fits));
  }
  Result<size_t> CopySomeFrom(int in, uint64_t in_offset, uint64_t offset, size_t len) override {
    RETURN_IF_ERROR(env_->Step("write", path_));
    const size_t fits = env_->Reserve(len);
    if (fits == 0 && len > 0) return Status::FromErrno(ENOSPC, "injected full disk: " + path_);
    return base_->CopySomeFrom(in, in_offset, offset, fits);
  }
  Result<size_t> ReadSome(uint64_t offset, size_t n, char* scratch) const override {
    return base_->ReadSome(offset, n, scratch);
  }
  Status Truncate(uint64_t size) override {
    RETURN_IF_ERROR(env_->Step("truncate", path_));
    return base_->Truncate(size);
  }
  Status Sync() override {
    Status s = env_->Step("sync", path_);
    if (s.ok()) s = base_->Sync();
    if (!s.ok()) {
      env_->RecordRWSyncFailed(path_);
      return s;
    }
    env_->RecordRWSynced(path_);
    return Status::Ok();
  }
  Result<uint64_t> Size() const override { return base_->Size(); }
  Status SetXattr(const std::string& name, std::string_view value) override {
    RETURN_IF_ERROR(env_->Step("xattr", path_));
    return base_->SetXattr(name, value);
  }
  Status Chmod(uint32_t mode) override {
    RETURN_IF_ERROR(env_->Step("chmod", path_));
    return base_->Chmod(mode);
  }
  Result<std::unique_ptr<RandomRWFile>> OpenDirect() const override {
    ASSIGN_OR_RETURN(std::unique_ptr<RandomRWFile> direct, base_->OpenDirect());
    return std::unique_ptr<RandomRWFile>(new FaultRandomRWFile(env_, path_, std::move(direct)));
  }
  int fd() const override { return base_->fd(); }

 private:
  FaultEnv* const env_;
  const std::string path_;
  std::unique_ptr<RandomRWFile> base_;
};

std::string ParentOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

void FaultEnv::FailStep(int64_t step, int err) {
  std::lock_guard<std::mutex> l(mu_);
  fail_step_ = step;
  fail_errno_ = err;
}

void FaultEnv::FailOperation(const std::string& op, int err) {
  std::lock_guard<std::mutex> l(mu_);
  fail_op_ = op;
  fail_op_errno_ = err;
}

void FaultEnv::CrashAtStep(int64_t step) {
  std::lock_guard<std::mutex> l(mu_);
  crash_step_ = step;
}

void FaultEnv::Reset() {
  std::lock_guard<std::mutex> l(mu_);
  fail_step_ = -1;
  crash_step_ = -1;
  fail_op_.clear();
  space_left_ = kNoLimit;
  steps_ = 0;
  crashed_ = false;
}

Status FaultEnv::Step(const char* op, const std::string& path) {
  int64_t n = ++steps_;
  std::lock_guard<std::mutex> l(mu_);
  if (crashed_ || (crash_step_ > 0 && n >= crash_step_)) {
    crashed_ = true;
    return Status::FromErrno(EIO, std::string("simulated crash before ") + op + " " + path);
  }
  if (n == fail_step_) {
    return Status::FromErrno(fail_errno_, std::string("injected fault in ") + op + " " + path);
  }
  if (!fail_op_.empty() && fail_op_ == op) {
    return Status::FromErrno(fail_op_errno_, std::string("injected fault in ") + op + " " + path);
  }
  return Status::Ok();
}

void FaultEnv::FillDiskAfter(uint64_t bytes) {
  std::lock_guard<std::mutex> l(mu_);
  space_left_ = bytes;
}

size_t FaultEnv::Reserve(size_t want) {
  std::lock_guard<std::mutex> l(mu_);
  if (space_left_ == kNoLimit) return want;
  const size_t fits = static_cast<size_t>(std::min<uint64_t>(want, space_left_));
  space_left_ -= fits;
  return fits;
}

void FaultEnv::RecordRWSynced(const std::string& path) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = rw_.find(path);
    if (it == rw_.end() || it->second.frozen) return;
  }
  // An unlinked file has no name to come back under: nothing to remember.
  Result<std::string> content = target()->ReadFile(path);
  if (!content.ok()) return;
  std::lock_guard<std::mutex> l(mu_);
  auto it = rw_.find(path);
  if (it != rw_.end() && !it->second.frozen) it->second.durable = std::move(*content);
}

void FaultEnv::RecordRWSyncFailed(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = rw_.find(path);
  if (it != rw_.end()) it->second.frozen = true;
}

void FaultEnv::RecordSynced(const std::string& path, uint64_t synced_size) {
  std::lock_guard<std::mutex> l(mu_);
  synced_size_[path] = synced_size;
}

void FaultEnv::RecordRenamed(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = synced_size_.find(from);
  if (it == synced_size_.end()) return;
  std::optional<uint64_t> v = it->second;
  synced_size_.erase(it);
  synced_size_[to] = v;
}

namespace {

Status Overwrite(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  for (size_t done = 0; done < content.size();) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      ::close(fd);
      return Status::FromErrno(e, "write " + path);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return Status::Ok();
}

}  // namespace

Status FaultEnv::DropUnsyncedData() {
  std::map<std::string, std::optional<uint64_t>> files;
  std::map<std::string, RWState> rw;
  {
    std::lock_guard<std::mutex> l(mu_);
    files = synced_size_;
    rw = rw_;
  }
  for (const auto& [path, state] : rw) {
    ASSIGN_OR_RETURN(bool exists, target()->FileExists(path));
    if (!exists) continue;
    if (!state.durable.has_value() || !state.named) {
      RETURN_IF_ERROR(target()->RemoveFile(path));
    } else {
      RETURN_IF_ERROR(Overwrite(path, *state.durable));
    }
  }
  for (const auto& [path, size] : files) {
    ASSIGN_OR_RETURN(bool exists, target()->FileExists(path));
    if (!exists) continue;
    if (!size.has_value()) {
      RETURN_IF_ERROR(target()->RemoveFile(path));
    } else if (::truncate(path.c_str(), static_cast<off_t>(*size)) != 0) {
      return Status::FromErrno(errno, "truncate " + path);
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<WritableFile>> FaultEnv::NewWritableFile(const std::string& p) {
  RETURN_IF_ERROR(Step("create", p));
  ASSIGN_OR_RETURN(auto base, target()->NewWritableFile(p));
  return Track(p, std::move(base));
}

Result<std::unique_ptr<WritableFile>> FaultEnv::NewDirectWritableFile(const std::string& p) {
  RETURN_IF_ERROR(Step("create", p));
  ASSIGN_OR_RETURN(auto base, target()->NewDirectWritableFile(p));
  return Track(p, std::move(base));
}

Result<std::unique_ptr<RandomRWFile>> FaultEnv::NewRandomRWFile(const std::string& p, OpenMode m) {
  if (m == OpenMode::kReadOnly) return target()->NewRandomRWFile(p, m);
  RETURN_IF_ERROR(Step("create", p));
  ASSIGN_OR_RETURN(bool existed, target()->FileExists(p));
  ASSIGN_OR_RETURN(auto base, target()->NewRandomRWFile(p, m));
  bool known;
  {
    std::lock_guard<std::mutex> l(mu_);
    known = rw_.count(p) != 0;
  }
  if (!existed) {
    std::lock_guard<std::mutex> l(mu_);
    rw_[p] = RWState{std::nullopt, /*named=*/false, /*frozen=*/false};
  } else if (!known) {
    // Found on disk: taken as durable as it is.
    ASSIGN_OR_RETURN(std::string content, target()->ReadFile(p));
    std::lock_guard<std::mutex> l(mu_);
    rw_[p] = RWState{std::move(content), /*named=*/true, /*frozen=*/false};
  }
  return std::unique_ptr<RandomRWFile>(new FaultRandomRWFile(this, p, std::move(base)));
}

std::unique_ptr<WritableFile> FaultEnv::Track(const std::string& p,
                                              std::unique_ptr<WritableFile> base) {
  {
    std::lock_guard<std::mutex> l(mu_);
    synced_size_[p] = std::nullopt;
  }
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, p, std::move(base)));
}

Status FaultEnv::RenameFile(const std::string& f, const std::string& t) {
  RETURN_IF_ERROR(Step("rename", f));
  RETURN_IF_ERROR(target()->RenameFile(f, t));
  RecordRenamed(f, t);
  std::lock_guard<std::mutex> l(mu_);
  auto it = rw_.find(f);
  if (it != rw_.end()) {
    RWState v = it->second;
    rw_.erase(it);
    rw_[t] = v;
  }
  return Status::Ok();
}

Status FaultEnv::RemoveFile(const std::string& p) {
  RETURN_IF_ERROR(Step("remove", p));
  RETURN_IF_ERROR(target()->RemoveFile(p));
  std::lock_guard<std::mutex> l(mu_);
  rw_.erase(p);
  return Status::Ok();
}

Status FaultEnv::CreateDir(const std::string& p) {
  RETURN_IF_ERROR(Step("mkdir", p));
  return target()->CreateDir(p);
}

Status FaultEnv::CreateDirs(const std::string& p) {
  RETURN_IF_ERROR(Step("mkdir", p));
  return target()->CreateDirs(p);
}

Status FaultEnv::SyncDir(const std::string& p) {
  RETURN_IF_ERROR(Step("syncdir", p));
  RETURN_IF_ERROR(target()->SyncDir(p));
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [path, state] : rw_) {
    if (ParentOf(path) == p) state.named = true;
  }
  return Status::Ok();
}

Status FaultEnv::SyncFile(const std::string& p) {
  Status s = Step("syncfile", p);
  if (s.ok()) s = target()->SyncFile(p);
  if (!s.ok()) {
    RecordRWSyncFailed(p);
    return s;
  }
  bool rw;
  {
    std::lock_guard<std::mutex> l(mu_);
    rw = rw_.count(p) != 0;
  }
  if (rw) {
    RecordRWSynced(p);
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(uint64_t size, target()->FileSize(p));
  RecordSynced(p, size);
  return Status::Ok();
}

Status FaultEnv::SyncFilesystem(const std::string& p) {
  RETURN_IF_ERROR(Step("syncfs", p));
  RETURN_IF_ERROR(target()->SyncFilesystem(p));
  std::vector<std::string> paths;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [path, size] : synced_size_) paths.push_back(path);
  }
  for (const auto& path : paths) {
    auto size = target()->FileSize(path);
    if (size.ok()) RecordSynced(path, *size);
  }
  return Status::Ok();
}

Result<std::unique_ptr<FileLock>> FaultEnv::TryLockFile(const std::string& p) {
  RETURN_IF_ERROR(Step("lock", p));
  return target()->TryLockFile(p);
}

Result<std::unique_ptr<FileLock>> FaultEnv::LockFileShared(const std::string& p) {
  RETURN_IF_ERROR(Step("lock", p));
  return target()->LockFileShared(p);
}

}  // namespace snapvol::core
