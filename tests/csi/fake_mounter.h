// FakeMounter: a Mounter that records mounts instead of starting FUSE
// servers, so the node service's rules are tested without root. Like real
// mount servers, its mounts outlive a Server (driver restart tests reuse
// one FakeMounter across two servers). Thread-safe.
#pragma once

#include <sys/stat.h>

#include <map>
#include <mutex>
#include <string>

#include "driver/csi/mounter.h"

namespace snapvol::csi {

class FakeMounter : public Mounter {
 public:
  struct Entry {
    MountSpec spec;
    bool healthy = true;
    uint64_t version = 1;
    uint64_t pending = 0;
  };

  Status Mount(const MountSpec& spec) override {
    std::lock_guard lock(mu_);
    mount_calls++;
    if (!next_mount_error.ok()) {
      Status st = next_mount_error;
      next_mount_error = Status::Ok();
      return st;
    }
    struct stat st {};
    if (::stat(spec.target_path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Status::FailedPrecondition("fake: target " + spec.target_path + " is not a directory");
    }
    mounts_[spec.target_path] = {spec, true, 1, 0};
    return Status::Ok();
  }

  Status Unmount(const std::string& target) override {
    std::lock_guard lock(mu_);
    unmount_calls++;
    auto it = mounts_.find(target);
    if (it == mounts_.end()) return Status::NotFound("fake: nothing mounted at " + target);
    mounts_.erase(it);
    if (!next_final_commit_error.ok()) {
      Status st = next_final_commit_error;
      next_final_commit_error = Status::Ok();
      return st;
    }
    return Status::Ok();
  }

  Result<MountCommit> Commit(const std::string& target, const std::string&) override {
    std::lock_guard lock(mu_);
    auto it = mounts_.find(target);
    if (it == mounts_.end()) return Status::NotFound("fake: nothing mounted at " + target);
    if (it->second.pending == 0) return MountCommit{it->second.version, true};
    it->second.pending = 0;
    return MountCommit{++it->second.version, false};
  }

  Result<uint64_t> Reload(const std::string& target) override {
    std::lock_guard lock(mu_);
    auto it = mounts_.find(target);
    if (it == mounts_.end()) return Status::NotFound("fake: nothing mounted at " + target);
    it->second.version = reload_version;
    return reload_version;
  }

  Result<MountState> Inspect(const std::string& target) override {
    std::lock_guard lock(mu_);
    auto it = mounts_.find(target);
    if (it == mounts_.end()) return Status::NotFound("fake: nothing mounted at " + target);
    MountState s;
    s.healthy = it->second.healthy;
    s.message = it->second.healthy ? "" : "fake: server killed";
    s.base_version = it->second.version;
    s.pending_operations = it->second.pending;
    s.pid = 4242;
    s.read_only = it->second.spec.read_only;
    return s;
  }

  Result<MountUsage> Usage(const std::string& target) override {
    std::lock_guard lock(mu_);
    auto it = mounts_.find(target);
    if (it == mounts_.end() || !it->second.healthy) {
      return Status::Unavailable("fake: transport endpoint is not connected");
    }
    return MountUsage{1000, 600, 400, 10'000'000, 9'999'990, 10};
  }

  Status Recover() override {
    std::lock_guard lock(mu_);
    recover_calls++;
    return Status::Ok();
  }

  // Test controls.
  void Kill(const std::string& target) {
    std::lock_guard lock(mu_);
    mounts_.at(target).healthy = false;
  }
  void AddPending(const std::string& target) {
    std::lock_guard lock(mu_);
    mounts_.at(target).pending++;
  }
  bool IsMounted(const std::string& target) {
    std::lock_guard lock(mu_);
    return mounts_.count(target) > 0;
  }
  MountSpec SpecAt(const std::string& target) {
    std::lock_guard lock(mu_);
    return mounts_.at(target).spec;
  }

  int mount_calls = 0, unmount_calls = 0, recover_calls = 0;
  Status next_mount_error;
  Status next_final_commit_error;
  uint64_t reload_version = 7;

 private:
  std::mutex mu_;
  std::map<std::string, Entry> mounts_;
};

}  // namespace snapvol::csi
