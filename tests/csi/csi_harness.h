// CsiHarness: a real snapvol-driver Server (mode all) on a unix socket in a
// temp dir, over a real local store, with a FakeMounter; plus gRPC stubs, so
// tests call it exactly as kubelet, the sidecars and csi-sanity do.
#pragma once

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "csi.grpc.pb.h"
#include "driver/csi/server.h"
#include "driver/store/store.h"
#include "driver/volume/engine.h"
#include "snapvol_node.grpc.pb.h"
#include "tests/csi/fake_mounter.h"
#include "tests/store/temp_dir.h"

namespace snapvol::csi {

class CsiHarness : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::OpenStore(dir_.path() + "/store", core::Env::Default());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    engine_ = std::make_unique<volume::Engine>(store_.get(), core::Env::Default());
    auto registry = OpenSqliteRegistry(dir_.path() + "/state/registry.db");
    ASSERT_TRUE(registry.ok()) << registry.status().ToString();
    registry_ = std::move(registry).value();
    StartServer();
    ::mkdir(pods_dir().c_str(), 0755);
  }

  void TearDown() override { server_.reset(); }

  // (Re)starts the server; the FakeMounter and state dir are kept, like mount
  // servers and the node state dir survive a driver restart.
  void StartServer() {
    server_.reset();
    published_ =
        std::make_unique<PublishStore>(core::Env::Default(), dir_.path() + "/state/csi/published");
    ServerOptions options;
    options.endpoint = "unix://" + dir_.path() + "/csi.sock";
    options.mode = Mode::kAll;
    options.vendor_version = "test";
    options.node.node_id = "node-1";
    options.node.recover_interval = std::chrono::milliseconds(0);
    options.node.tenancy = tenancy_;
    options.node.kubelet_dir = dir_.path();
    auto server = Server::Start(
        options, Server::Parts{engine_.get(), registry_.get(), &mounter_, published_.get()});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    auto channel = grpc::CreateChannel(options.endpoint, grpc::InsecureChannelCredentials());
    identity_ = ::csi::v1::Identity::NewStub(channel);
    controller_ = ::csi::v1::Controller::NewStub(channel);
    node_ = ::csi::v1::Node::NewStub(channel);
    snapvol_ = ::snapvol::v1::Node::NewStub(channel);
  }

  std::string pods_dir() const { return dir_.path() + "/pods"; }

  // The node service's tenancy policy from the next StartServer() on.
  TenancyPolicy tenancy_;

  static ::csi::v1::VolumeCapability MountCap(
      ::csi::v1::VolumeCapability::AccessMode::Mode mode =
          ::csi::v1::VolumeCapability::AccessMode::SINGLE_NODE_WRITER) {
    ::csi::v1::VolumeCapability cap;
    cap.mutable_mount();
    cap.mutable_access_mode()->set_mode(mode);
    return cap;
  }

  // CreateVolume with one mount capability; `status` receives the result.
  ::csi::v1::CreateVolumeResponse Create(const std::string& name, grpc::Status* status,
                                         int64_t capacity = 0,
                                         std::map<std::string, std::string> params = {}) {
    ::csi::v1::CreateVolumeRequest req;
    req.set_name(name);
    *req.add_volume_capabilities() = MountCap();
    if (capacity) req.mutable_capacity_range()->set_required_bytes(capacity);
    for (auto& [k, v] : params) (*req.mutable_parameters())[k] = v;
    ::csi::v1::CreateVolumeResponse resp;
    grpc::ClientContext ctx;
    *status = controller_->CreateVolume(&ctx, req, &resp);
    return resp;
  }

  std::string MustCreate(const std::string& name) {
    grpc::Status st;
    auto resp = Create(name, &st);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.volume().volume_id();
  }

  grpc::Status Publish(const std::string& volume_id, const std::string& target,
                       std::map<std::string, std::string> context = {}, bool readonly = false) {
    ::csi::v1::NodePublishVolumeRequest req;
    req.set_volume_id(volume_id);
    req.set_target_path(target);
    *req.mutable_volume_capability() = MountCap();
    req.set_readonly(readonly);
    for (auto& [k, v] : context) (*req.mutable_volume_context())[k] = v;
    ::csi::v1::NodePublishVolumeResponse resp;
    grpc::ClientContext ctx;
    return node_->NodePublishVolume(&ctx, req, &resp);
  }

  grpc::Status Unpublish(const std::string& volume_id, const std::string& target) {
    ::csi::v1::NodeUnpublishVolumeRequest req;
    req.set_volume_id(volume_id);
    req.set_target_path(target);
    ::csi::v1::NodeUnpublishVolumeResponse resp;
    grpc::ClientContext ctx;
    return node_->NodeUnpublishVolume(&ctx, req, &resp);
  }

  store::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<volume::Engine> engine_;
  std::unique_ptr<Registry> registry_;
  FakeMounter mounter_;
  std::unique_ptr<PublishStore> published_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<::csi::v1::Identity::Stub> identity_;
  std::unique_ptr<::csi::v1::Controller::Stub> controller_;
  std::unique_ptr<::csi::v1::Node::Stub> node_;
  std::unique_ptr<::snapvol::v1::Node::Stub> snapvol_;
};

}  // namespace snapvol::csi
