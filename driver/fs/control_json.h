// JSON encodings shared by the mount server and its clients: the values of
// the control attributes (user.snapvol.status, .commit, .reload) and the
// mount's mount.json. Decoding is strict about types and tolerant of
// unknown fields (newer servers may add some).
#pragma once

#include <cstdint>
#include <string>

#include "driver/core/result.h"
#include "driver/fs/mount.h"

namespace snapvol::fs {

// What a mount directory's mount.json records.
struct MountInfo {
  std::string id;
  std::string store;
  std::string environment;
  std::string volume;
  std::string volume_id;
  std::string mountpoint;
  int pid = 0;
  uint64_t base_version = 0;
  bool read_only = false;
  int64_t commit_interval_ms = 0;
  int64_t created_ns = 0;
  std::string container;  // the OCI container it was mounted for, if any
};

std::string EncodeMountInfo(const MountInfo& info);
Result<MountInfo> DecodeMountInfo(const std::string& json);

// MountOptions as handed from Mount() to the server process.
std::string EncodeMountOptions(const MountOptions& options);
Result<MountOptions> DecodeMountOptions(const std::string& json);

std::string EncodeCommitInfo(const CommitInfo& info);
Result<CommitInfo> DecodeCommitInfo(const std::string& json);

std::string EncodeMountStatus(const MountStatus& status);
Result<MountStatus> DecodeMountStatus(const std::string& json);

}  // namespace snapvol::fs
