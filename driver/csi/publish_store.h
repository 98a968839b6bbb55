// PublishStore: the node plugin's record of every volume it published, one
// JSON file per target path under the node-local state directory
// (STATE/csi/published/<sha256(target)[:32]>.json). Written before the mount
// server is started and removed after it is gone, so a restarted driver
// knows every mount it is responsible for (NodeUnpublishVolume,
// NodeGetVolumeStats, snapvol.v1.Node) even though it did not start them.
// Files are replaced atomically (temp file, fsync, rename, fsync dir).
// Thread-safe (no shared mutable state; callers serialise per target).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "driver/core/env.h"

namespace snapvol::csi {

struct PublishRecord {
  std::string volume_id;  // as the CO sent it ("ENV/NAME", or csi-<hash> for ephemeral)
  std::string target_path;
  std::string environment;
  std::string volume;
  bool read_only = false;
  bool ephemeral = false;
  uint64_t version = 0;  // 0 = follows the head
  std::string pod_namespace;
  std::string pod_name;
  int64_t published_ns = 0;
};

class PublishStore {
 public:
  // `dir` is created by Init(). `env` must outlive the store.
  PublishStore(core::Env* env, std::string dir) : env_(env), dir_(std::move(dir)) {}

  core::Status Init();
  core::Status Put(const PublishRecord& record);
  core::Result<std::optional<PublishRecord>> Get(const std::string& target_path);
  // Ok if absent.
  core::Status Remove(const std::string& target_path);
  // Every record; unreadable files are skipped with a warning.
  core::Result<std::vector<PublishRecord>> List();

  const std::string& dir() const { return dir_; }

 private:
  std::string FileFor(const std::string& target_path) const;

  core::Env* env_;
  std::string dir_;
};

}  // namespace snapvol::csi
