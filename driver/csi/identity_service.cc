#include "driver/csi/identity_service.h"

#include "driver/csi/grpc_status.h"
#include "driver/csi/log.h"

namespace snapvol::csi {

IdentityService::IdentityService(std::string vendor_version, bool controller,
                                 std::function<core::Status()> probe)
    : vendor_version_(std::move(vendor_version)),
      controller_(controller),
      probe_(std::move(probe)) {}

grpc::Status IdentityService::GetPluginInfo(grpc::ServerContext*,
                                            const ::csi::v1::GetPluginInfoRequest*,
                                            ::csi::v1::GetPluginInfoResponse* response) {
  response->set_name(kDriverName);
  response->set_vendor_version(vendor_version_);
  return grpc::Status::OK;
}

grpc::Status IdentityService::GetPluginCapabilities(
    grpc::ServerContext*, const ::csi::v1::GetPluginCapabilitiesRequest*,
    ::csi::v1::GetPluginCapabilitiesResponse* response) {
  // No VOLUME_ACCESSIBILITY_CONSTRAINTS: every node that reaches the store
  // reaches every volume. (The embedded store is one node's disk; the chart
  // pins the pods to that node instead of advertising topology.)
  if (controller_) {
    response->add_capabilities()->mutable_service()->set_type(
        ::csi::v1::PluginCapability::Service::CONTROLLER_SERVICE);
  }
  return grpc::Status::OK;
}

grpc::Status IdentityService::Probe(grpc::ServerContext*, const ::csi::v1::ProbeRequest*,
                                    ::csi::v1::ProbeResponse* response) {
  core::Status st = probe_ ? probe_() : core::Status::Ok();
  if (!st.ok()) {
    LOG_CSI(kWarning) << "Probe failed: " << st.ToString();
    return ToGrpc(st.Annotate("probe"));
  }
  response->mutable_ready()->set_value(true);
  return grpc::Status::OK;
}

}  // namespace snapvol::csi
