// FaultEnv: an Env for tests that fails chosen operations and simulates
// crashes. Every mutating call (create, append, sync, close, rename, remove,
// mkdir, dir sync, file sync by path, syncfs, lock) is one numbered step,
// counted from 1. Operation names for FailOperation: "create", "append",
// "sync", "close", "rename", "remove", "mkdir", "syncdir", "syncfile",
// "syncfs", "lock", and for RandomRWFile "create" (any open but kReadOnly),
// "write" (each WriteSome or CopySomeFrom), "sync", "truncate", "xattr",
// "chmod".
//
//   FailStep(n, ENOSPC)  step n returns that errno; later steps run normally.
//   CrashAtStep(n)       step n and every later mutating step fail with EIO,
//                        as if the process died there.
//   DropUnsyncedData()   after a crash: every file written through this Env
//                        is cut back to the bytes that were Sync()ed, and
//                        files never synced are removed — what a power loss
//                        leaves behind. SyncFile(path) marks that file synced
//                        at its current size; SyncFilesystem() marks every
//                        file written through this Env synced.
//                        RandomRWFiles go back to their content at their
//                        last successful Sync (bytes written through fd()
//                        included); one created here and never synced, or
//                        whose directory was not SyncDir()ed since it was
//                        created, is removed (its name was never durable).
//   FillDiskAfter(n)     the next n bytes written (Append, WriteSome,
//                        CopySomeFrom) fit,
//                        then the disk is full: the write that crosses the
//                        limit writes what fits (WriteSome returns a short
//                        count, Append writes the prefix and fails), later
//                        ones fail with ENOSPC.
//   A failed RandomRWFile Sync (injected) loses that file's unsynced bytes
//   for good: later Syncs report success but its durable content no longer
//   advances, the pessimistic reading of Linux's behaviour (pages whose
//   write-back failed are marked clean; the error is reported once), so a
//   caller that trusts a later success is caught acknowledging lost data.
// Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "driver/core/env.h"

namespace snapvol::core {

class FaultEnv : public EnvWrapper {
 public:
  explicit FaultEnv(Env* target) : EnvWrapper(target) {}

  void FailStep(int64_t step, int err);
  // Fails every step whose operation name (e.g. "append", "rename") matches,
  // with `err`, until cleared with FailOperation("", 0).
  void FailOperation(const std::string& op, int err);
  void CrashAtStep(int64_t step);
  bool crashed() const { return crashed_.load(); }
  // Clears the crash and failure settings and the step counter.
  void Reset();
  int64_t steps() const { return steps_.load(); }
  static constexpr uint64_t kNoLimit = ~uint64_t{0};
  void FillDiskAfter(uint64_t bytes);
  Status DropUnsyncedData();

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& p) override;
  Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(const std::string& p) override;
  Result<std::unique_ptr<RandomRWFile>> NewRandomRWFile(const std::string& p, OpenMode m) override;
  Status RenameFile(const std::string& f, const std::string& t) override;
  Status RemoveFile(const std::string& p) override;
  Status CreateDir(const std::string& p) override;
  Status CreateDirs(const std::string& p) override;
  Status SyncDir(const std::string& p) override;
  Status SyncFile(const std::string& p) override;
  Status SyncFilesystem(const std::string& p) override;
  Result<std::unique_ptr<FileLock>> TryLockFile(const std::string& p) override;
  Result<std::unique_ptr<FileLock>> LockFileShared(const std::string& p) override;

  // Used by the files this Env creates. Returns non-ok if the step must fail.
  Status Step(const char* op, const std::string& path);
  void RecordSynced(const std::string& path, uint64_t synced_size);
  void RecordRenamed(const std::string& from, const std::string& to);
  // Of `want` bytes about to be written, how many fit before the disk is full.
  size_t Reserve(size_t want);
  // A RandomRWFile at `path` synced successfully / failed to sync.
  void RecordRWSynced(const std::string& path);
  void RecordRWSyncFailed(const std::string& path);

 private:
  // Records `p` as written-but-unsynced and wraps `base` to count its steps.
  std::unique_ptr<WritableFile> Track(const std::string& p, std::unique_ptr<WritableFile> base);

  std::atomic<int64_t> steps_{0};
  std::atomic<bool> crashed_{false};
  std::mutex mu_;  // guards the fields below
  int64_t fail_step_ = -1;
  int fail_errno_ = 0;
  int64_t crash_step_ = -1;
  std::string fail_op_;
  int fail_op_errno_ = 0;
  // Every file written, by current name: its synced size, or nullopt if it
  // was never synced (dropped entirely by DropUnsyncedData).
  std::map<std::string, std::optional<uint64_t>> synced_size_;
  uint64_t space_left_ = kNoLimit;
  // Every RandomRWFile opened for writing, by current name.
  struct RWState {
    std::optional<std::string> durable;  // content at the last Sync; nullopt: none
    bool named = true;                   // its directory entry is durable
    bool frozen = false;                 // a Sync failed: durable never advances
  };
  std::map<std::string, RWState> rw_;
};

}  // namespace snapvol::core
