// Catalog: environments, the volume registry and per-volume version logs.
//
// The version log is append-only: a commit lands by creating record N+1 only
// if it does not exist yet (SQLite primary key; S3 PUT If-None-Match: * in
// the bucket backend). Losing that race returns false, and the caller
// re-reads the head and retries. Records are never modified; they are only
// removed with their volume.
//
// All methods are thread-safe and safe across processes sharing one store.
// Names passed in must already be validated (core::ValidateName).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "driver/core/hash.h"
#include "driver/core/result.h"

namespace snapvol::store {

using core::Hash;
using core::Result;
using core::Status;

inline constexpr char kDefaultEnvironment[] = "main";
inline constexpr uint64_t kDefaultInodeLimit = 10'000'000;

struct EnvironmentRecord {
  std::string name;
  int64_t created_ns = 0;
};

struct VolumeRecord {
  std::string environment;
  std::string name;
  std::string id;  // unique forever: a deleted and re-created name gets a new id
  int64_t created_ns = 0;
  uint64_t inode_limit = kDefaultInodeLimit;
};

struct VersionRecord {
  uint64_t version = 0;  // 1, 2, 3 ...
  Hash commit;           // the commit object
  int64_t time_ns = 0;
};

// A mount of a volume (CLI, CSI or hook), registered by its server while it
// may hold pending changes: from start until its final commit landed, or
// until recovery committed or discarded what it left. Deleting a volume
// that has one is refused unless forced.
struct MountRecord {
  std::string mount_id;  // the mount's state directory name
  std::string volume_id;
  std::string host;
  int64_t pid = 0;
  std::string mountpoint;  // bytes
  std::string state_dir;   // where its journal is (bytes)
  int64_t created_ns = 0;
};

class Catalog {
 public:
  virtual ~Catalog() = default;

  // Environments. The default environment "main" always exists (created on
  // first open of a store) and cannot be deleted.
  virtual Status CreateEnvironment(const std::string& name, int64_t now_ns) = 0;  // AlreadyExists
  virtual Result<std::vector<EnvironmentRecord>> ListEnvironments() = 0;          // sorted by name
  virtual Result<bool> EnvironmentExists(const std::string& name) = 0;
  // NotFound; FailedPrecondition if it still holds volumes or is "main".
  virtual Status DeleteEnvironment(const std::string& name) = 0;

  // Volumes. NotFound if the environment does not exist; AlreadyExists if the
  // name is taken in that environment.
  virtual Status CreateVolume(const VolumeRecord& record) = 0;
  virtual Result<VolumeRecord> GetVolume(const std::string& env, const std::string& name) = 0;
  virtual Result<std::vector<VolumeRecord>> ListVolumes(const std::string& env) = 0;  // by name
  // Removes the name and the volume's version log. NotFound if absent.
  virtual Status DeleteVolume(const std::string& env, const std::string& name) = 0;
  // NotFound if `from` is absent; AlreadyExists if `to` is taken.
  virtual Status RenameVolume(const std::string& env, const std::string& from,
                              const std::string& to) = 0;
  virtual Status SetInodeLimit(const std::string& env, const std::string& name, uint64_t limit) = 0;

  // Version log. Returns true if `record` was appended, false if its version
  // already exists (lost race). FailedPrecondition if record.version is not
  // 1 or the successor of an existing version.
  virtual Result<bool> AppendVersion(const std::string& volume_id, const VersionRecord& record) = 0;
  // The newest record, or nullopt if the volume has no commits yet.
  virtual Result<std::optional<VersionRecord>> LatestVersion(const std::string& volume_id) = 0;
  // NotFound if the version does not exist.
  virtual Result<VersionRecord> GetVersion(const std::string& volume_id, uint64_t version) = 0;
  // Records with version >= from, ascending, at most `limit` (0 = no limit).
  virtual Result<std::vector<VersionRecord>> ListVersions(const std::string& volume_id,
                                                          uint64_t from, uint64_t limit) = 0;

  // Mount registry (MountRecord). Add replaces a record of the same id;
  // Remove of an absent id is ok. List is by mount id.
  virtual Status AddMount(const MountRecord& record) = 0;
  virtual Status RemoveMount(const std::string& mount_id) = 0;
  virtual Result<std::vector<MountRecord>> ListMounts(const std::string& volume_id) = 0;
};

}  // namespace snapvol::store
