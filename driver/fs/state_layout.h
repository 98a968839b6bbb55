// StateLayout: every node-local on-disk name of the mount servers, in one
// place (like store/local/local_layout.h). docs/mount.md shows the same
// tree.
//
//   <state>/mounts/<id>/lock          flock held by the live mount server
//   <state>/mounts/<id>/mount.json    volume, environment, store, mountpoint, pid, options
//   <state>/mounts/<id>/journal.<gen> pending operations, generation <gen> (decimal)
//   <state>/mounts/<id>/data/<n>      upper file n (content of a written file)
//   <state>/mounts/<id>/server.log    the server's log
//   <state>/files/<key>               whole-file copy for passthrough reads (file_cache.h)
//
// Pure string functions; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace snapvol::fs {

class StateLayout {
 public:
  explicit StateLayout(std::string state_dir) : root_(std::move(state_dir)) {}
  const std::string& root() const { return root_; }
  std::string MountsDir() const { return root_ + "/mounts"; }
  std::string MountDir(std::string_view id) const { return MountsDir() + "/" + std::string(id); }
  std::string FilesDir() const { return root_ + "/files"; }

 private:
  std::string root_;
};

// Names inside one mount's directory.
class MountDirLayout {
 public:
  explicit MountDirLayout(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  std::string LockFile() const { return dir_ + "/lock"; }
  std::string InfoFile() const { return dir_ + "/mount.json"; }
  std::string LogFile() const { return dir_ + "/server.log"; }
  std::string DataDir() const { return dir_ + "/data"; }
  std::string UpperFile(uint64_t n) const { return DataDir() + "/" + std::to_string(n); }
  std::string JournalFile(uint64_t gen) const { return dir_ + "/" + JournalName(gen); }

  static std::string JournalName(uint64_t gen) { return "journal." + std::to_string(gen); }
  // The generation of a journal file name, or nullopt for other names.
  static std::optional<uint64_t> ParseJournalName(std::string_view name);

 private:
  std::string dir_;
};

}  // namespace snapvol::fs
