// MountServer: one mounted volume — the store and engine, the View, the
// journal and write layer in the mount's state directory, the background
// committer, and the commit / reload / status logic that the control
// attributes and the final commit use. fuse_ops.cc serves it over FUSE.
//
// Commit (S3, S5, S6, docs/mount.md): the Committer (committer.h) owns one
// commit from plan to finish; the server names its author and message,
// serializes it with reloads and records the outcome for status. A failed
// commit leaves everything pending and is retried by the next trigger (S9).
// Commits and reloads are serialized by control_mu_; file operations keep
// running meanwhile.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "driver/core/env.h"
#include "driver/fs/chunk_cache.h"
#include "driver/fs/committer.h"
#include "driver/fs/file_cache.h"
#include "driver/fs/journal.h"
#include "driver/fs/mount.h"
#include "driver/fs/tree_cache.h"
#include "driver/fs/view.h"
#include "driver/store/store.h"
#include "driver/volume/engine.h"

namespace snapvol::fs {

class MountServer {
 public:
  // Opens the store, recovers dead mounts of the same state directory,
  // resolves the volume and snapshot, creates this mount's state directory
  // (unless read-only) and attaches the view. `options.mountpoint` must be
  // absolute.
  static Result<std::unique_ptr<MountServer>> Open(const MountOptions& options);
  ~MountServer();

  View& view() { return *view_; }
  // Tests: plan and finish commits by hand (serialize with Commit).
  Committer& committer() { return *committer_; }
  // The host's whole-file copies for passthrough reads (fuse_ops.cc).
  FileCache& files() { return *files_; }
  // Reported by the FUSE layer (handle_io): passthrough is in use (a
  // backing file was registered and opened; whether the kernel accepted it
  // at INIT is KernelIo's, status field passthrough_accepted); one more open
  // was passed through.
  void NotePassthrough(bool on) { passthrough_.store(on); }
  void NotePassthroughOpen() { passthrough_opens_.fetch_add(1, std::memory_order_relaxed); }
  // One more READ request served (passed-through reads never arrive).
  void NoteRead() { reads_.fetch_add(1, std::memory_order_relaxed); }
  const MountOptions& options() const { return options_; }
  std::string fsname() const;
  // This mount's state directory ("" for read-only mounts).
  const std::string& mount_dir() const { return mount_dir_; }

  // `by_uid`: the user who asked (an in-mount commit), credited as the
  // commit's author; otherwise the mount's owner is.
  Result<CommitInfo> Commit(CommitTrigger trigger, std::optional<uint32_t> by_uid = std::nullopt);
  // Tests: `hook` runs inside every commit after it was planned and before
  // it lands, while file operations may run (the window in which a change
  // is neither planned nor pending-only). Set before commits start.
  void SetAfterPlanHookForTest(std::function<void()> hook) {
    committer_->SetAfterPlanHookForTest(std::move(hook));
  }
  // Moves to the newest commit; the caller delivers the invalidations.
  Result<Invalidations> Reload();
  MountStatus CurrentStatus();
  std::string StatusJson() { return EncodeStatusJson(CurrentStatus()); }

  // Background committer (no-op if the interval is 0 or the mount is read-only).
  void StartBackground();
  void StopBackground();

  // After the session ended: final commit; on success removes the state
  // directory, otherwise leaves it for Recover.
  core::Status Shutdown();

 private:
  explicit MountServer(MountOptions options) : options_(std::move(options)) {}
  static std::string EncodeStatusJson(const MountStatus& s);
  Result<CommitInfo> CommitLocked(CommitTrigger trigger, std::optional<uint32_t> by_uid);

  MountOptions options_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<volume::Engine> engine_;
  volume::VolumeRecord volume_;
  std::string mount_id_;
  std::string mount_dir_;
  std::unique_ptr<core::FileLock> lock_;
  std::unique_ptr<TreeCache> trees_;
  std::unique_ptr<ChunkCache> chunks_;
  std::unique_ptr<FileCache> files_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<View> view_;
  std::unique_ptr<Committer> committer_;

  std::mutex control_mu_;  // serializes Commit and Reload; before View::mu_
  std::atomic<uint64_t> commits_{0}, reloads_{0};
  std::atomic<bool> passthrough_{false};
  std::atomic<uint64_t> passthrough_opens_{0};
  std::atomic<uint64_t> reads_{0};

  std::mutex status_mu_;  // guards last_*
  bool has_last_ = false;
  bool last_ok_ = false;
  std::string last_error_;
  CommitInfo last_;

  std::mutex bg_mu_;  // guards stop_
  std::condition_variable bg_cv_;
  bool stop_ = false;
  std::thread bg_;
};

}  // namespace snapvol::fs
