#include "driver/csi/identity_service.h"

#include "tests/csi/csi_harness.h"

namespace snapvol::csi {
namespace {

using IdentityServiceTest = CsiHarness;

TEST_F(IdentityServiceTest, PluginInfoNamesTheDriverAndVersion) {
  grpc::ClientContext ctx;
  ::csi::v1::GetPluginInfoResponse resp;
  ASSERT_TRUE(identity_->GetPluginInfo(&ctx, {}, &resp).ok());
  EXPECT_EQ(resp.name(), "snapvol.csi.io");
  EXPECT_EQ(resp.vendor_version(), "test");
}

TEST_F(IdentityServiceTest, AdvertisesTheControllerService) {
  grpc::ClientContext ctx;
  ::csi::v1::GetPluginCapabilitiesResponse resp;
  ASSERT_TRUE(identity_->GetPluginCapabilities(&ctx, {}, &resp).ok());
  ASSERT_EQ(resp.capabilities_size(), 1);
  EXPECT_EQ(resp.capabilities(0).service().type(),
            ::csi::v1::PluginCapability::Service::CONTROLLER_SERVICE);
}

TEST_F(IdentityServiceTest, ProbeIsReadyWhenTheStoreAnswers) {
  grpc::ClientContext ctx;
  ::csi::v1::ProbeResponse resp;
  ASSERT_TRUE(identity_->Probe(&ctx, {}, &resp).ok());
  EXPECT_TRUE(resp.ready().value());
}

TEST(IdentityServiceUnitTest, ProbeFailsWithTheStoreError) {
  IdentityService service("v", false, [] { return core::Status::Unavailable("store gone"); });
  ::csi::v1::ProbeResponse resp;
  grpc::Status st = service.Probe(nullptr, nullptr, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(st.error_message().find("store gone"), std::string::npos);
  ::csi::v1::GetPluginCapabilitiesResponse caps;
  ASSERT_TRUE(service.GetPluginCapabilities(nullptr, nullptr, &caps).ok());
  EXPECT_EQ(caps.capabilities_size(), 0);  // node-only mode
}

}  // namespace
}  // namespace snapvol::csi
