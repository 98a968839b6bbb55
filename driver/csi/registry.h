// Registry: what the CSI controller must remember beyond the volume engine:
// per volume the CreateVolume request it answered (capacity, content source;
// so a repeated request is recognised and an incompatible one refused), and
// the snapshots (pins of one volume version each).
//
// A snapshot records the pinned commit's hash, not just its version number,
// so it stays restorable after its source volume is deleted (CSI snapshots
// outlive their source). Garbage collection must treat every pinned commit
// as a root (docs/kubernetes.md, "Snapshots").
//
// Implementations are thread-safe. "Not found" is an empty optional, never an
// error; every write is idempotent or reports AlreadyExists.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "driver/core/hash.h"
#include "driver/core/result.h"

namespace snapvol::csi {

using core::Result;
using core::Status;

struct VolumeMeta {
  std::string volume_uid;      // store::VolumeRecord::id (unique forever)
  std::string request_name;    // the CreateVolume name
  int64_t capacity_bytes = 0;  // recorded, not enforced; 0 = unknown
  std::string content_source;  // "", "snapshot:<id>" or "volume:<id>"
  int64_t created_ns = 0;
  std::string commit_interval;  // StorageClass commitInterval, "" = default
};

struct SnapshotRecord {
  std::string id;                 // SnapshotId::ToString()
  std::string request_name;       // the CreateSnapshot name
  std::string source_volume_id;   // "ENV/NAME"
  std::string source_volume_uid;  // VolumeRecord::id of the source
  uint64_t version = 0;           // the pinned version
  core::Hash commit;              // its commit object
  int64_t size_bytes = 0;         // file bytes in that version
  int64_t created_ns = 0;
};

class Registry {
 public:
  virtual ~Registry() = default;

  virtual Result<std::optional<VolumeMeta>> GetVolumeMeta(const std::string& volume_uid) = 0;
  // Inserts or replaces the record of meta.volume_uid.
  virtual Status PutVolumeMeta(const VolumeMeta& meta) = 0;
  // Ok if absent.
  virtual Status DeleteVolumeMeta(const std::string& volume_uid) = 0;

  // AlreadyExists if a snapshot with the same id or request name exists.
  virtual Status CreateSnapshot(const SnapshotRecord& record) = 0;
  virtual Result<std::optional<SnapshotRecord>> FindSnapshotByName(
      const std::string& request_name) = 0;
  virtual Result<std::optional<SnapshotRecord>> GetSnapshot(const std::string& id) = 0;
  // Snapshots with id > `after` (bytewise), sorted by id, at most `limit`
  // (0 = all); only those of `source_volume_id` unless it is empty.
  virtual Result<std::vector<SnapshotRecord>> ListSnapshots(
      const std::string& after, size_t limit, const std::string& source_volume_id) = 0;
  // Ok if absent.
  virtual Status DeleteSnapshot(const std::string& id) = 0;

  // Reads from the backing database; for Probe.
  virtual Status Check() = 0;
};

// A registry in an SQLite database at `path` (created with its parent
// directory if missing; WAL mode; safe for several processes).
Result<std::unique_ptr<Registry>> OpenSqliteRegistry(const std::string& path);

}  // namespace snapvol::csi
