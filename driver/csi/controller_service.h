// csi.v1.Controller: volume lifecycle and snapshots on top of the volume
// engine. Handlers follow one order: validate the request (INVALID_ARGUMENT)
// → take the per-name lock (ABORTED if another call for the same name is in
// flight) → load engine and registry state (NOT_FOUND) → check preconditions
// (ALREADY_EXISTS for an incompatible repeat) → act idempotently. A CO may
// repeat any call after a timeout; every call converges to the same result.
//
// Volume ids are "ENV/NAME" (volume_id.h); snapshot ids
// "ENV/NAME@VERSION#TAG" (snapshot_id.h). Creating a volume from a snapshot
// or another volume is O(1) and copies no data: the new volume's version 1
// names the source's root tree (Engine::CommitRoot).
#pragma once

#include <string>

#include "csi.grpc.pb.h"
#include "driver/csi/key_lock.h"
#include "driver/csi/registry.h"
#include "driver/volume/engine.h"

namespace snapvol::csi {

class ControllerService final : public ::csi::v1::Controller::Service {
 public:
  // `engine` and `registry` must outlive the service.
  ControllerService(volume::Engine* engine, Registry* registry);

  grpc::Status CreateVolume(grpc::ServerContext*, const ::csi::v1::CreateVolumeRequest* request,
                            ::csi::v1::CreateVolumeResponse* response) override;
  grpc::Status DeleteVolume(grpc::ServerContext*, const ::csi::v1::DeleteVolumeRequest* request,
                            ::csi::v1::DeleteVolumeResponse* response) override;
  grpc::Status ValidateVolumeCapabilities(
      grpc::ServerContext*, const ::csi::v1::ValidateVolumeCapabilitiesRequest* request,
      ::csi::v1::ValidateVolumeCapabilitiesResponse* response) override;
  grpc::Status ListVolumes(grpc::ServerContext*, const ::csi::v1::ListVolumesRequest* request,
                           ::csi::v1::ListVolumesResponse* response) override;
  grpc::Status ControllerGetVolume(grpc::ServerContext*,
                                   const ::csi::v1::ControllerGetVolumeRequest* request,
                                   ::csi::v1::ControllerGetVolumeResponse* response) override;
  grpc::Status ControllerGetCapabilities(
      grpc::ServerContext*, const ::csi::v1::ControllerGetCapabilitiesRequest* request,
      ::csi::v1::ControllerGetCapabilitiesResponse* response) override;
  grpc::Status CreateSnapshot(grpc::ServerContext*, const ::csi::v1::CreateSnapshotRequest* request,
                              ::csi::v1::CreateSnapshotResponse* response) override;
  grpc::Status DeleteSnapshot(grpc::ServerContext*, const ::csi::v1::DeleteSnapshotRequest* request,
                              ::csi::v1::DeleteSnapshotResponse* response) override;
  grpc::Status ListSnapshots(grpc::ServerContext*, const ::csi::v1::ListSnapshotsRequest* request,
                             ::csi::v1::ListSnapshotsResponse* response) override;

 private:
  // The root directory entry a content source refers to (NOT_FOUND naming
  // the source if it does not exist), and its description for registry and
  // messages ("snapshot:<id>" / "volume:<id>").
  struct Source {
    std::string description;
    objects::Entry root;  // type unset: the empty volume
  };
  core::Result<Source> ResolveSource(const ::csi::v1::VolumeContentSource& source);

  // Commits the source's root tree as the volume's version 1 (O(1)).
  core::Status Restore(const store::VolumeRecord& volume, const Source& source);

  // Fills a csi.v1.Volume for `record`.
  core::Status Describe(const store::VolumeRecord& record, ::csi::v1::Volume* out);

  volume::Engine* engine_;
  Registry* registry_;
  KeyLock volume_locks_;    // by volume id
  KeyLock snapshot_locks_;  // by snapshot request name
};

}  // namespace snapvol::csi
