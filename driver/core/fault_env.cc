#include "driver/core/fault_env.h"

#include <unistd.h>

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
    RETURN_IF_ERROR(base_->Append(data));
    size_ += data.size();
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

Status FaultEnv::DropUnsyncedData() {
  std::map<std::string, std::optional<uint64_t>> files;
  {
    std::lock_guard<std::mutex> l(mu_);
    files = synced_size_;
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
  return Status::Ok();
}

Status FaultEnv::RemoveFile(const std::string& p) {
  RETURN_IF_ERROR(Step("remove", p));
  return target()->RemoveFile(p);
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
  return target()->SyncDir(p);
}

Status FaultEnv::SyncFile(const std::string& p) {
  RETURN_IF_ERROR(Step("syncfile", p));
  RETURN_IF_ERROR(target()->SyncFile(p));
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
