// csi.v1.Node: publishes volumes by starting mount servers (one per target
// path) and takes them down with a final commit. Handlers: validate
// (INVALID_ARGUMENT) → lock the target path (ABORTED if busy) → load the
// publish record (publish_store.h) → check (ALREADY_EXISTS if the target
// holds a different publication) → act idempotently: publishing twice with
// the same arguments succeeds without a second mount, unpublishing an
// unpublished target succeeds. The driver creates target_path and removes it
// on unpublish, as the spec requires.
//
// Staging is not used (no STAGE_UNSTAGE_VOLUME): a FUSE mount per pod is what
// gives each pod its own snapshot and private writes (S1, S2).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "csi.grpc.pb.h"
#include "driver/csi/key_lock.h"
#include "driver/csi/mounter.h"
#include "driver/csi/publish_store.h"
#include "driver/csi/tenancy.h"
#include "driver/volume/engine.h"

namespace snapvol::csi {

struct NodeOptions {
  std::string node_id;
  int64_t max_volumes_per_node = 0;  // 0 = no limit
  // Advertise VOLUME_MOUNT_GROUP: kubelet then passes the pod's fsGroup in
  // volume_mount_group and never walks the volume itself (it does not with
  // fsGroupPolicy None either).
  bool mount_group = true;
  // How often to commit what crashed mount servers left behind (S9); 0 = only
  // at start.
  std::chrono::milliseconds recover_interval{60'000};
  // Which environments inline volumes of each namespace reach (tenancy.h).
  TenancyPolicy tenancy;
  // NodePublishVolume mounts only below this directory (kubelet's root):
  // a caller of the socket cannot have a volume mounted over /etc.
  std::string kubelet_dir = "/var/lib/kubelet";
};

class NodeService final : public ::csi::v1::Node::Service {
 public:
  // All pointers must outlive the service.
  NodeService(volume::Engine* engine, Mounter* mounter, PublishStore* published,
              NodeOptions options);
  ~NodeService() override;

  // Restart handling: logs every publication a previous driver process left
  // and their state, commits what dead mount servers left pending, and
  // starts the periodic recovery. Call once before serving.
  core::Status Start();

  grpc::Status NodePublishVolume(grpc::ServerContext*,
                                 const ::csi::v1::NodePublishVolumeRequest* request,
                                 ::csi::v1::NodePublishVolumeResponse* response) override;
  grpc::Status NodeUnpublishVolume(grpc::ServerContext*,
                                   const ::csi::v1::NodeUnpublishVolumeRequest* request,
                                   ::csi::v1::NodeUnpublishVolumeResponse* response) override;
  grpc::Status NodeGetVolumeStats(grpc::ServerContext*,
                                  const ::csi::v1::NodeGetVolumeStatsRequest* request,
                                  ::csi::v1::NodeGetVolumeStatsResponse* response) override;
  grpc::Status NodeGetCapabilities(grpc::ServerContext*,
                                   const ::csi::v1::NodeGetCapabilitiesRequest* request,
                                   ::csi::v1::NodeGetCapabilitiesResponse* response) override;
  grpc::Status NodeGetInfo(grpc::ServerContext*, const ::csi::v1::NodeGetInfoRequest* request,
                           ::csi::v1::NodeGetInfoResponse* response) override;

  // For snapvol.v1.Node: serialises with publish/unpublish of the same target.
  KeyLock& target_locks() { return target_locks_; }

 private:
  void RecoverLoop();

  volume::Engine* engine_;
  Mounter* mounter_;
  PublishStore* published_;
  const NodeOptions options_;
  KeyLock target_locks_;

  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread recover_thread_;
};

}  // namespace snapvol::csi
