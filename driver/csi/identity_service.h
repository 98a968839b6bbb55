// csi.v1.Identity: plugin name and version, capabilities, and a Probe that
// really reads the store (and the controller's registry), so the
// livenessprobe sidecar restarts a driver whose store went away.
#pragma once

#include <functional>
#include <string>

#include "csi.grpc.pb.h"
#include "driver/core/status.h"

namespace snapvol::csi {

inline constexpr char kDriverName[] = "snapvol.csi.io";

class IdentityService final : public ::csi::v1::Identity::Service {
 public:
  // `probe` is called on every Probe; a non-ok Status fails it with the
  // mapped gRPC code. `controller` adds the CONTROLLER_SERVICE capability.
  IdentityService(std::string vendor_version, bool controller, std::function<core::Status()> probe);

  grpc::Status GetPluginInfo(grpc::ServerContext*, const ::csi::v1::GetPluginInfoRequest*,
                             ::csi::v1::GetPluginInfoResponse* response) override;
  grpc::Status GetPluginCapabilities(grpc::ServerContext*,
                                     const ::csi::v1::GetPluginCapabilitiesRequest*,
                                     ::csi::v1::GetPluginCapabilitiesResponse* response) override;
  grpc::Status Probe(grpc::ServerContext*, const ::csi::v1::ProbeRequest*,
                     ::csi::v1::ProbeResponse* response) override;

 private:
  const std::string vendor_version_;
  const bool controller_;
  const std::function<core::Status()> probe_;
};

}  // namespace snapvol::csi
