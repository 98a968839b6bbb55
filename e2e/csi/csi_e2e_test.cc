// End-to-end: snapvol-driver --mode all as a real process on a unix socket,
// driven by a gRPC client in the order the sidecars and kubelet call it, with
// real FUSE mounts. Needs root and /dev/fuse (skips otherwise).
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "csi.grpc.pb.h"
#include "snapvol_node.grpc.pb.h"

extern char** environ;

// ASSERT that a grpc::Status is ok, printing its message otherwise.
#define ASSERT_GRPC_OK(expr)                                       \
  do {                                                             \
    grpc::Status _st = (expr);                                     \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.error_message(); \
  } while (0)

namespace {

namespace v1 = ::csi::v1;
namespace sv = ::snapvol::v1;
using grpc::StatusCode;
namespace fsys = std::filesystem;

std::string ReadFile(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& p, const std::string& data) {
  std::ofstream out(p, std::ios::trunc);
  out << data;
}

class CsiE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (FUSE mounts)";
    if (::access("/dev/fuse", R_OK | W_OK) != 0) GTEST_SKIP() << "needs /dev/fuse";
#ifdef SNAPVOL_MOUNT_SERVER_BINARY
    // The driver's mount helper finds the server binary through this.
    ::setenv("SNAPVOL_MOUNT_SERVER", SNAPVOL_MOUNT_SERVER_BINARY, 1);
#endif
    char tmpl[] = "/tmp/snapvol-csi-e2e-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fsys::create_directories(dir_ + "/pods");
    StartDriver();
  }

  void TearDown() override {
    if (dir_.empty()) return;
    // Unmount whatever a failed test left, then stop the driver.
    for (const auto& e : fsys::directory_iterator(dir_ + "/pods")) {
      Unpublish(published_id_[e.path().string()], e.path().string());
    }
    StopDriver(SIGTERM);
    std::error_code ec;
    fsys::remove_all(dir_, ec);
  }

  void StartDriver() {
    std::string socket = dir_ + "/csi.sock";
    std::vector<std::string> args = {
        SNAPVOL_DRIVER_BINARY,         "--mode=all",
        "--endpoint=unix://" + socket, "--node-id=e2e-node",
        "--store=" + dir_ + "/store",  "--state-dir=" + dir_ + "/state",
        "--commit-interval=0",         "--log-level=debug"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ASSERT_EQ(::posix_spawn(&driver_pid_, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    auto channel = grpc::CreateChannel("unix://" + socket, grpc::InsecureChannelCredentials());
    ASSERT_TRUE(
        channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(20)))
        << "driver did not start serving";
    identity_ = v1::Identity::NewStub(channel);
    controller_ = v1::Controller::NewStub(channel);
    node_ = v1::Node::NewStub(channel);
    snapvol_ = sv::Node::NewStub(channel);
  }

  void StopDriver(int sig) {
    if (driver_pid_ <= 0) return;
    ::kill(driver_pid_, sig);
    int status = 0;
    ::waitpid(driver_pid_, &status, 0);
    driver_pid_ = 0;
  }

  static v1::VolumeCapability Cap(v1::VolumeCapability::AccessMode::Mode mode =
                                      v1::VolumeCapability::AccessMode::MULTI_NODE_MULTI_WRITER) {
    v1::VolumeCapability cap;
    cap.mutable_mount();
    cap.mutable_access_mode()->set_mode(mode);
    return cap;
  }

  std::string CreateVolume(const std::string& name, const std::string& snapshot = "") {
    v1::CreateVolumeRequest req;
    req.set_name(name);
    *req.add_volume_capabilities() = Cap();
    if (!snapshot.empty()) {
      req.mutable_volume_content_source()->mutable_snapshot()->set_snapshot_id(snapshot);
    }
    v1::CreateVolumeResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = controller_->CreateVolume(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.volume().volume_id();
  }

  std::string Pod(const std::string& name) { return dir_ + "/pods/" + name; }

  grpc::Status Publish(const std::string& id, const std::string& target,
                       std::map<std::string, std::string> ctx_attrs = {}) {
    v1::NodePublishVolumeRequest req;
    req.set_volume_id(id);
    req.set_target_path(target);
    *req.mutable_volume_capability() = Cap();
    for (auto& [k, v] : ctx_attrs) (*req.mutable_volume_context())[k] = v;
    v1::NodePublishVolumeResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = node_->NodePublishVolume(&ctx, req, &resp);
    if (st.ok()) published_id_[target] = id;
    return st;
  }

  grpc::Status Unpublish(const std::string& id, const std::string& target) {
    v1::NodeUnpublishVolumeRequest req;
    req.set_volume_id(id);
    req.set_target_path(target);
    v1::NodeUnpublishVolumeResponse resp;
    grpc::ClientContext ctx;
    return node_->NodeUnpublishVolume(&ctx, req, &resp);
  }

  uint64_t Commit(const std::string& target) {
    sv::CommitRequest req;
    req.set_target_path(target);
    sv::CommitResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = snapvol_->Commit(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.version();
  }

  uint64_t Reload(const std::string& target) {
    sv::ReloadRequest req;
    req.set_target_path(target);
    sv::ReloadResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = snapvol_->Reload(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.version();
  }

  std::string dir_;
  pid_t driver_pid_ = 0;
  std::map<std::string, std::string> published_id_;
  std::unique_ptr<v1::Identity::Stub> identity_;
  std::unique_ptr<v1::Controller::Stub> controller_;
  std::unique_ptr<v1::Node::Stub> node_;
  std::unique_ptr<sv::Node::Stub> snapvol_;
};

TEST_F(CsiE2eTest, ProbeReadsTheStore) {
  v1::ProbeResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(identity_->Probe(&ctx, {}, &resp).ok());
  EXPECT_TRUE(resp.ready().value());
}

TEST_F(CsiE2eTest, FinalCommitOnUnpublishReachesTheNextPod) {
  std::string id = CreateVolume("pvc-e2e-1");
  ASSERT_GRPC_OK(Publish(id, Pod("pod1")));
  ASSERT_GRPC_OK(Publish(id, Pod("pod1")));  // kubelet repeats: idempotent
  WriteFile(Pod("pod1") + "/hello.txt", "from pod 1");
  ASSERT_GRPC_OK(Unpublish(id, Pod("pod1")));  // final commit
  EXPECT_FALSE(fsys::exists(Pod("pod1")));
  ASSERT_GRPC_OK(Unpublish(id, Pod("pod1")));  // idempotent
  ASSERT_GRPC_OK(Publish(id, Pod("pod2")));
  EXPECT_EQ(ReadFile(Pod("pod2") + "/hello.txt"), "from pod 1");
  ASSERT_GRPC_OK(Unpublish(id, Pod("pod2")));
}

TEST_F(CsiE2eTest, TwoPodsCommitAndReloadThroughTheNodeServiceAndXattrs) {
  std::string id = CreateVolume("pvc-e2e-2");
  ASSERT_GRPC_OK(Publish(id, Pod("a")));
  ASSERT_GRPC_OK(Publish(id, Pod("b")));
  WriteFile(Pod("a") + "/from-a", "A");
  EXPECT_FALSE(fsys::exists(Pod("b") + "/from-a"));  // private until committed
  uint64_t v = Commit(Pod("a"));
  EXPECT_GE(v, 1u);
  EXPECT_FALSE(fsys::exists(Pod("b") + "/from-a"));  // snapshot until reload
  EXPECT_EQ(Reload(Pod("b")), v);
  EXPECT_EQ(ReadFile(Pod("b") + "/from-a"), "A");

  WriteFile(Pod("b") + "/from-b", "B");
  ASSERT_EQ(::setxattr(Pod("b").c_str(), "user.snapvol.commit", "1", 1, 0), 0) << strerror(errno);
  ASSERT_EQ(::setxattr(Pod("a").c_str(), "user.snapvol.reload", "1", 1, 0), 0) << strerror(errno);
  EXPECT_EQ(ReadFile(Pod("a") + "/from-b"), "B");
  char version[32] = {};
  ASSERT_GT(::getxattr(Pod("a").c_str(), "user.snapvol.version", version, sizeof version - 1), 0);
  EXPECT_EQ(std::stoull(version), v + 1);

  sv::StatusRequest sreq;
  sreq.set_target_path(Pod("a"));
  sv::StatusResponse sresp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(snapvol_->Status(&ctx, sreq, &sresp).ok());
  EXPECT_TRUE(sresp.healthy());
  EXPECT_EQ(sresp.volume_id(), id);
  ASSERT_GRPC_OK(Unpublish(id, Pod("a")));
  ASSERT_GRPC_OK(Unpublish(id, Pod("b")));
}

TEST_F(CsiE2eTest, EphemeralInlineVolume) {
  std::map<std::string, std::string> attrs = {{"csi.storage.k8s.io/ephemeral", "true"},
                                              {"csi.storage.k8s.io/pod.name", "inline"},
                                              {"csi.storage.k8s.io/pod.namespace", "default"},
                                              {"name", "scratch"},
                                              {"createIfMissing", "true"}};
  ASSERT_GRPC_OK(Publish("csi-0123", Pod("inline"), attrs));
  WriteFile(Pod("inline") + "/x", "inline data");
  ASSERT_GRPC_OK(Unpublish("csi-0123", Pod("inline")));
  ASSERT_GRPC_OK(Publish("main/scratch", Pod("reader")));
  EXPECT_EQ(ReadFile(Pod("reader") + "/x"), "inline data");
  ASSERT_GRPC_OK(Unpublish("main/scratch", Pod("reader")));
}

TEST_F(CsiE2eTest, SnapshotAndRestore) {
  std::string id = CreateVolume("pvc-e2e-snap");
  ASSERT_GRPC_OK(Publish(id, Pod("w")));
  WriteFile(Pod("w") + "/state", "before");
  Commit(Pod("w"));
  v1::CreateSnapshotRequest sreq;
  sreq.set_name("snapshot-e2e");
  sreq.set_source_volume_id(id);
  v1::CreateSnapshotResponse sresp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(controller_->CreateSnapshot(&ctx, sreq, &sresp).ok());
  }
  WriteFile(Pod("w") + "/state", "after");
  ASSERT_GRPC_OK(Unpublish(id, Pod("w")));
  std::string restored = CreateVolume("pvc-e2e-restored", sresp.snapshot().snapshot_id());
  ASSERT_GRPC_OK(Publish(restored, Pod("r")));
  EXPECT_EQ(ReadFile(Pod("r") + "/state"), "before");
  ASSERT_GRPC_OK(Unpublish(restored, Pod("r")));
}

TEST_F(CsiE2eTest, BadRequestsGetTheSpecCodes) {
  v1::NodePublishVolumeRequest req;
  v1::NodePublishVolumeResponse resp;
  auto publish = [&] {
    grpc::ClientContext ctx;
    return node_->NodePublishVolume(&ctx, req, &resp).error_code();
  };
  EXPECT_EQ(publish(), StatusCode::INVALID_ARGUMENT);
  req.set_volume_id("main/nope");
  req.set_target_path(Pod("x"));
  EXPECT_EQ(publish(), StatusCode::INVALID_ARGUMENT);
  *req.mutable_volume_capability() = Cap();
  EXPECT_EQ(publish(), StatusCode::NOT_FOUND);
  v1::CreateVolumeRequest creq;
  v1::CreateVolumeResponse cresp;
  grpc::ClientContext ctx;
  EXPECT_EQ(controller_->CreateVolume(&ctx, creq, &cresp).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(CsiE2eTest, MountsSurviveADriverRestart) {
  std::string id = CreateVolume("pvc-e2e-restart");
  ASSERT_GRPC_OK(Publish(id, Pod("live")));
  WriteFile(Pod("live") + "/written-before-kill", "kept");
  StopDriver(SIGKILL);
  // The mount server is its own process: the mount keeps serving.
  EXPECT_EQ(ReadFile(Pod("live") + "/written-before-kill"), "kept");
  StartDriver();
  sv::StatusRequest sreq;
  sreq.set_target_path(Pod("live"));
  sv::StatusResponse sresp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(snapvol_->Status(&ctx, sreq, &sresp).ok());
  }
  EXPECT_TRUE(sresp.healthy()) << sresp.message();
  ASSERT_GRPC_OK(Publish(id, Pod("live")));  // kubelet's repeat after restart
  ASSERT_GRPC_OK(Unpublish(id, Pod("live")));
  ASSERT_GRPC_OK(Publish(id, Pod("after")));
  EXPECT_EQ(ReadFile(Pod("after") + "/written-before-kill"), "kept");
  ASSERT_GRPC_OK(Unpublish(id, Pod("after")));
}

}  // namespace
