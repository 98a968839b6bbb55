// snapvol.v1.Node: Commit, Reload and Status of a published volume by target
// path, on the driver's socket. For operators (grpcurl, kubectl exec into the
// node plugin) and tests; pods use the in-mount xattrs instead
// (docs/kubernetes.md). NOT_FOUND if nothing is published at the path.
#pragma once

#include "driver/csi/key_lock.h"
#include "driver/csi/mounter.h"
#include "driver/csi/publish_store.h"
#include "snapvol_node.grpc.pb.h"

namespace snapvol::csi {

class SnapvolNodeService final : public ::snapvol::v1::Node::Service {
 public:
  // `locks` is the node service's target-path lock (a commit never runs
  // while the same target is being published or unpublished). All pointers
  // must outlive the service.
  SnapvolNodeService(Mounter* mounter, PublishStore* published, KeyLock* locks);

  grpc::Status Commit(grpc::ServerContext*, const ::snapvol::v1::CommitRequest* request,
                      ::snapvol::v1::CommitResponse* response) override;
  grpc::Status Reload(grpc::ServerContext*, const ::snapvol::v1::ReloadRequest* request,
                      ::snapvol::v1::ReloadResponse* response) override;
  grpc::Status Status(grpc::ServerContext*, const ::snapvol::v1::StatusRequest* request,
                      ::snapvol::v1::StatusResponse* response) override;

 private:
  Mounter* mounter_;
  PublishStore* published_;
  KeyLock* locks_;
};

}  // namespace snapvol::csi
