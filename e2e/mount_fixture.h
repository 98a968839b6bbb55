// MountFixture: a fresh embedded store and volume under /tmp, helpers to
// mount it (real FUSE, fs::Mount) at several mountpoints, and cleanup that
// never leaves a mount or a server behind: every mountpoint is unmounted
// (lazily if it must be) and every server it started is killed by PID.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "driver/fs/mount.h"
#include "driver/store/store.h"
#include "driver/volume/engine.h"

namespace snapvol::e2e {

class MountFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A mountpoint directory `name` under the test's directory, mounted.
  // Options default to this fixture's store, volume and state dir.
  std::string MountAt(const std::string& name, fs::MountOptions options);
  std::string MountAt(const std::string& name) { return MountAt(name, Options()); }
  fs::MountOptions Options() const;
  // Kills a mount server with `sig` and waits for it to exit; the kernel
  // mount is then cleaned up lazily.
  void KillServer(const std::string& mountpoint, int sig);
  int ServerPid(const std::string& mountpoint);

  volume::Engine& engine() { return *engine_; }
  volume::VolumeRecord volume() { return *engine_->GetVolume("main", volume_name_); }
  uint64_t HeadVersion() { return engine_->Head(volume())->version; }
  // The content of `path` in the volume's newest commit, or nullopt.
  std::optional<std::string> HeadFile(const std::string& path);

  const std::string& dir() const { return dir_; }
  const std::string& store_dir() const { return store_dir_; }
  const std::string& state_dir() const { return state_dir_; }
  const std::string& volume_name() const { return volume_name_; }
  uint64_t inode_limit_ = 0;  // set before SetUp's volume creation by subclasses

 private:
  std::string dir_, store_dir_, state_dir_, volume_name_ = "vol";
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<volume::Engine> engine_;
  std::vector<std::string> mounts_;
  std::vector<int> pids_;
};

// File helpers. Each ASSERT-free: they return what happened.
bool WriteFile(const std::string& path, const std::string& content);
std::optional<std::string> ReadFile(const std::string& path);
bool Exists(const std::string& path);
int ErrnoOf(int rc);  // returns errno if rc < 0, else 0
// Reads `path` in 1 MiB pieces: each must be `expected`'s bytes there or
// fail with EIO (S10: never wrong bytes; a test failure otherwise). Returns
// the number of pieces that were EIO, or -1 if the file did not open.
int PiecesFailingWithEio(const std::string& path, const std::string& expected);
// Damages chunk objects of the embedded store at `store_dir` in place: of
// every object file of at least 1 MiB (chunks; trees and packs are smaller)
// whose byte at `at` `pick` accepts, that byte becomes `to`. Returns how
// many it damaged.
int DamageChunkObjects(
    const std::string& store_dir, off_t at, char to,
    const std::function<bool(char)>& pick = [](char) { return true; });
bool IsMounted(const std::string& mountpoint);
// Whether a server process still runs (zombies count as gone).
bool ServerAlive(int pid);

// Runs `fn` in a child process with uid/gid 65534 (nobody); returns its
// exit status (0 = success).
int RunAsNobody(const std::function<int()>& fn);
// Runs `fn` in a child process that stays uid 0 but drops every capability
// (a container's root without CAP_DAC_OVERRIDE and the rest).
int RunAsRootWithoutCapabilities(const std::function<int()>& fn);

}  // namespace snapvol::e2e
