// End-to-end: snapvol-driver --mode all as a real process on a unix socket,
// driven by a gRPC client in the order the sidecars and kubelet call it, with
// real FUSE mounts. Needs root and /dev/fuse (skips otherwise).
//
// Like kubelet, the tests create only the parent of every target path; the
// driver creates and removes the target itself. What csi-sanity
// (kubernetes-csi/csi-test pkg/sanity) checks of the node service against a
// live driver is here too (SanityNodeSequence); its argument and controller
// checks are covered by tests/csi.
#include <fcntl.h>
#include <grp.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
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
using Mode = v1::VolumeCapability::AccessMode;

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

// Whether something is mounted at `path`: it is on another device than its
// parent, or it is a FUSE mount whose server is gone (ENOTCONN).
bool Mounted(const std::string& path) {
  struct stat here {
  }, parent{};
  if (::stat(path.c_str(), &here) != 0) return errno == ENOTCONN;
  if (::stat(fsys::path(path).parent_path().c_str(), &parent) != 0) return false;
  return here.st_dev != parent.st_dev;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs `fn` in a child process as uid/gid 1000 with supplementary `groups`,
// with the working directory `dir` (entered while still root, so the test
// directory's own permissions do not matter). Returns fn's errno (0 = ok).
int AsUser(const std::string& dir, std::vector<gid_t> groups, int (*fn)()) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(100);
    if (::setgroups(groups.size(), groups.data()) != 0) ::_exit(101);
    if (::setresgid(1000, 1000, 1000) != 0 || ::setresuid(1000, 1000, 1000) != 0) ::_exit(102);
    ::_exit(fn());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

int CreateFileHere() {
  int fd = ::open("made-by-pod", O_CREAT | O_WRONLY | O_EXCL, 0644);
  if (fd < 0) return errno;
  int rc = ::write(fd, "pod", 3) == 3 ? 0 : errno;
  ::close(fd);
  return rc;
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
    // Unpublish whatever a failed test left, through the driver if it is
    // up; detach anything still mounted so no server outlives the test.
    std::vector<std::string> targets;
    std::error_code ec;
    for (const auto& e : fsys::directory_iterator(dir_ + "/pods", ec)) {
      targets.push_back(e.path().string());
    }
    for (const auto& target : targets) {
      if (driver_pid_ > 0 && published_id_.count(target)) {
        (void)Unpublish(published_id_[target], target);
      }
      if (Mounted(target)) {
        ADD_FAILURE() << target << " was still mounted at the end of the test";
        ::umount2(target.c_str(), MNT_DETACH);
      }
    }
    if (driver_pid_ > 0) {
      // SIGTERM is a clean stop (under ASan, also no leaks).
      int status = StopDriver(SIGTERM);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "driver wait status " << status;
    }
    bool mounted = false;
    for (const auto& target : targets) mounted = mounted || Mounted(target);
    // Never recurse into a live mount: that would delete the volume's files.
    if (!mounted) fsys::remove_all(dir_, ec);
  }

  void StartDriver() {
    std::string socket = dir_ + "/csi.sock";
    std::vector<std::string> args = {
        SNAPVOL_DRIVER_BINARY,         "--mode=all",
        "--endpoint=unix://" + socket, "--node-id=e2e-node",
        "--store=" + dir_ + "/store",  "--state-dir=" + dir_ + "/state",
        "--commit-interval=0",         "--log-level=debug",
        "--kubelet-dir=" + dir_};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ASSERT_EQ(::posix_spawn(&driver_pid_, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    // Connect once the socket is there: a first attempt that fails would
    // wait out gRPC's reconnect backoff.
    for (int i = 0; i < 600 && !fsys::exists(socket); i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // A private subchannel pool: a channel to a restarted driver must not
    // reuse the connection to the killed one.
    grpc::ChannelArguments channel_args;
    channel_args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel("unix://" + socket, grpc::InsecureChannelCredentials(),
                                             channel_args);
    ASSERT_TRUE(
        channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30)))
        << "driver did not start serving";
    identity_ = v1::Identity::NewStub(channel);
    controller_ = v1::Controller::NewStub(channel);
    node_ = v1::Node::NewStub(channel);
    snapvol_ = sv::Node::NewStub(channel);
  }

  // More driver flags for the next StartDriver().
  std::vector<std::string> extra_args_;

  // Returns the driver's wait status.
  int StopDriver(int sig) {
    if (driver_pid_ <= 0) return 0;
    // Drop the connection first: the server's graceful shutdown otherwise
    // waits seconds for this idle client to go away.
    identity_.reset();
    controller_.reset();
    node_.reset();
    snapvol_.reset();
    ::kill(driver_pid_, sig);
    int status = 0;
    ::waitpid(driver_pid_, &status, 0);
    driver_pid_ = 0;
    return status;
  }

  static v1::VolumeCapability Cap(Mode::Mode mode = Mode::MULTI_NODE_MULTI_WRITER) {
    v1::VolumeCapability cap;
    cap.mutable_mount();
    cap.mutable_access_mode()->set_mode(mode);
    return cap;
  }

  grpc::Status TryCreateVolume(const v1::CreateVolumeRequest& req, v1::CreateVolumeResponse* resp) {
    grpc::ClientContext ctx;
    return controller_->CreateVolume(&ctx, req, resp);
  }

  static v1::CreateVolumeRequest CreateRequest(const std::string& name,
                                               const std::string& snapshot = "") {
    v1::CreateVolumeRequest req;
    req.set_name(name);
    *req.add_volume_capabilities() = Cap();
    if (!snapshot.empty()) {
      req.mutable_volume_content_source()->mutable_snapshot()->set_snapshot_id(snapshot);
    }
    return req;
  }

  std::string CreateVolume(const std::string& name, const std::string& snapshot = "") {
    v1::CreateVolumeResponse resp;
    grpc::Status st = TryCreateVolume(CreateRequest(name, snapshot), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.volume().volume_id();
  }

  std::string Pod(const std::string& name) { return dir_ + "/pods/" + name; }

  v1::NodePublishVolumeRequest PublishRequest(const std::string& id, const std::string& target,
                                              std::map<std::string, std::string> attrs = {}) {
    v1::NodePublishVolumeRequest req;
    req.set_volume_id(id);
    req.set_target_path(target);
    *req.mutable_volume_capability() = Cap();
    for (auto& [k, v] : attrs) (*req.mutable_volume_context())[k] = v;
    return req;
  }

  grpc::Status Publish(const v1::NodePublishVolumeRequest& req) {
    v1::NodePublishVolumeResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = node_->NodePublishVolume(&ctx, req, &resp);
    if (st.ok()) published_id_[req.target_path()] = req.volume_id();
    return st;
  }

  grpc::Status Publish(const std::string& id, const std::string& target,
                       std::map<std::string, std::string> attrs = {}) {
    return Publish(PublishRequest(id, target, std::move(attrs)));
  }

  grpc::Status Unpublish(const std::string& id, const std::string& target) {
    v1::NodeUnpublishVolumeRequest req;
    req.set_volume_id(id);
    req.set_target_path(target);
    v1::NodeUnpublishVolumeResponse resp;
    grpc::ClientContext ctx;
    return node_->NodeUnpublishVolume(&ctx, req, &resp);
  }

  grpc::Status Stats(const std::string& id, const std::string& path,
                     v1::NodeGetVolumeStatsResponse* resp) {
    v1::NodeGetVolumeStatsRequest req;
    req.set_volume_id(id);
    req.set_volume_path(path);
    grpc::ClientContext ctx;
    return node_->NodeGetVolumeStats(&ctx, req, resp);
  }

  grpc::Status TryCommit(const std::string& target, sv::CommitResponse* resp) {
    sv::CommitRequest req;
    req.set_target_path(target);
    grpc::ClientContext ctx;
    return snapvol_->Commit(&ctx, req, resp);
  }

  uint64_t Commit(const std::string& target) {
    sv::CommitResponse resp;
    grpc::Status st = TryCommit(target, &resp);
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

  sv::StatusResponse MountStatus(const std::string& target) {
    sv::StatusRequest req;
    req.set_target_path(target);
    sv::StatusResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = snapvol_->Status(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  v1::CreateSnapshotResponse Snapshot(const std::string& name, const std::string& source) {
    v1::CreateSnapshotRequest req;
    req.set_name(name);
    req.set_source_volume_id(source);
    v1::CreateSnapshotResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = controller_->CreateSnapshot(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  std::string dir_;
  pid_t driver_pid_ = 0;
  std::map<std::string, std::string> published_id_;
  std::unique_ptr<v1::Identity::Stub> identity_;
  std::unique_ptr<v1::Controller::Stub> controller_;
  std::unique_ptr<v1::Node::Stub> node_;
  std::unique_ptr<sv::Node::Stub> snapvol_;
};

TEST_F(CsiE2eTest, IdentityAndNodeInfo) {
  {
    v1::GetPluginInfoResponse resp;
    grpc::ClientContext ctx;
    ASSERT_GRPC_OK(identity_->GetPluginInfo(&ctx, {}, &resp));
    EXPECT_EQ(resp.name(), "snapvol.csi.io");
    EXPECT_FALSE(resp.vendor_version().empty());
  }
  {
    v1::GetPluginCapabilitiesResponse resp;
    grpc::ClientContext ctx;
    ASSERT_GRPC_OK(identity_->GetPluginCapabilities(&ctx, {}, &resp));
    ASSERT_EQ(resp.capabilities_size(), 1);
    EXPECT_EQ(resp.capabilities(0).service().type(),
              v1::PluginCapability::Service::CONTROLLER_SERVICE);
  }
  {
    v1::ProbeResponse resp;
    grpc::ClientContext ctx;
    ASSERT_GRPC_OK(identity_->Probe(&ctx, {}, &resp));
    EXPECT_TRUE(resp.ready().value());
  }
  {
    v1::NodeGetInfoResponse resp;
    grpc::ClientContext ctx;
    ASSERT_GRPC_OK(node_->NodeGetInfo(&ctx, {}, &resp));
    EXPECT_EQ(resp.node_id(), "e2e-node");
    EXPECT_GE(resp.max_volumes_per_node(), 0);
  }
  {
    v1::NodeGetCapabilitiesResponse resp;
    grpc::ClientContext ctx;
    ASSERT_GRPC_OK(node_->NodeGetCapabilities(&ctx, {}, &resp));
    std::set<int> caps;
    for (const auto& c : resp.capabilities()) caps.insert(c.rpc().type());
    // No staging: every pod gets its own mount (its own snapshot, S1/S2).
    EXPECT_FALSE(caps.count(v1::NodeServiceCapability::RPC::STAGE_UNSTAGE_VOLUME));
    EXPECT_TRUE(caps.count(v1::NodeServiceCapability::RPC::GET_VOLUME_STATS));
    EXPECT_TRUE(caps.count(v1::NodeServiceCapability::RPC::VOLUME_CONDITION));
    // The default: kubelet delegates fsGroup instead of walking the volume.
    EXPECT_TRUE(caps.count(v1::NodeServiceCapability::RPC::VOLUME_MOUNT_GROUP));
  }
}

TEST_F(CsiE2eTest, FinalCommitOnUnpublishReachesTheNextPod) {
  std::string id = CreateVolume("pvc-e2e-1");
  EXPECT_EQ(id, "main/pvc-e2e-1");
  EXPECT_EQ(CreateVolume("pvc-e2e-1"), id);  // the provisioner repeats: same volume
  ASSERT_FALSE(fsys::exists(Pod("pod1")));   // kubelet creates only the parent
  ASSERT_GRPC_OK(Publish(id, Pod("pod1")));
  EXPECT_TRUE(Mounted(Pod("pod1")));
  ASSERT_GRPC_OK(Publish(id, Pod("pod1")));  // kubelet repeats: idempotent
  WriteFile(Pod("pod1") + "/hello.txt", "from pod 1");
  ASSERT_GRPC_OK(Unpublish(id, Pod("pod1")));  // final commit
  EXPECT_FALSE(Mounted(Pod("pod1")));
  EXPECT_FALSE(fsys::exists(Pod("pod1")));     // the driver removes the target
  ASSERT_GRPC_OK(Unpublish(id, Pod("pod1")));  // idempotent
  ASSERT_GRPC_OK(Publish(id, Pod("pod2")));
  EXPECT_EQ(ReadFile(Pod("pod2") + "/hello.txt"), "from pod 1");
  EXPECT_EQ(MountStatus(Pod("pod2")).base_version(), 1u);
  ASSERT_GRPC_OK(Unpublish(id, Pod("pod2")));
}

TEST_F(CsiE2eTest, TwoPodsCommitAndReloadThroughTheNodeServiceAndXattrs) {
  std::string id = CreateVolume("pvc-e2e-2");
  ASSERT_GRPC_OK(Publish(id, Pod("a")));
  ASSERT_GRPC_OK(Publish(id, Pod("b")));
  WriteFile(Pod("a") + "/from-a", "A");
  EXPECT_FALSE(fsys::exists(Pod("b") + "/from-a"));  // private until committed
  uint64_t v = Commit(Pod("a"));
  EXPECT_EQ(v, 1u);
  EXPECT_FALSE(fsys::exists(Pod("b") + "/from-a"));  // snapshot until reload
  EXPECT_EQ(Reload(Pod("b")), v);
  EXPECT_EQ(ReadFile(Pod("b") + "/from-a"), "A");
  sv::CommitResponse nothing;
  ASSERT_GRPC_OK(TryCommit(Pod("a"), &nothing));
  EXPECT_TRUE(nothing.empty());  // nothing pending: no new version

  // The same through the mount root's xattrs, as a program in the pod does.
  WriteFile(Pod("b") + "/from-b", "B");
  ASSERT_EQ(::setxattr(Pod("b").c_str(), "user.snapvol.commit", "1", 1, 0), 0) << strerror(errno);
  EXPECT_FALSE(fsys::exists(Pod("a") + "/from-b"));
  ASSERT_EQ(::setxattr(Pod("a").c_str(), "user.snapvol.reload", "1", 1, 0), 0) << strerror(errno);
  EXPECT_EQ(ReadFile(Pod("a") + "/from-b"), "B");
  char version[32] = {};
  ASSERT_GT(::getxattr(Pod("a").c_str(), "user.snapvol.version", version, sizeof version - 1), 0);
  EXPECT_EQ(std::stoull(version), v + 1);

  sv::StatusResponse status = MountStatus(Pod("a"));
  EXPECT_TRUE(status.healthy()) << status.message();
  EXPECT_EQ(status.volume_id(), id);
  EXPECT_EQ(status.base_version(), v + 1);
  EXPECT_GT(status.pid(), 0);
  ASSERT_GRPC_OK(Unpublish(id, Pod("a")));
  ASSERT_GRPC_OK(Unpublish(id, Pod("b")));
}

TEST_F(CsiE2eTest, EphemeralInlineVolume) {
  std::map<std::string, std::string> attrs = {{"csi.storage.k8s.io/ephemeral", "true"},
                                              {"csi.storage.k8s.io/pod.name", "inline"},
                                              {"csi.storage.k8s.io/pod.namespace", "default"},
                                              {"name", "scratch"},
                                              {"createIfMissing", "true"}};
  // kubelet names inline volumes csi-<sha256(pod uid, volume name)>.
  const std::string handle = "csi-0123456789abcdef";
  ASSERT_GRPC_OK(Publish(handle, Pod("inline"), attrs));
  ASSERT_GRPC_OK(Publish(handle, Pod("inline"), attrs));  // idempotent
  EXPECT_TRUE(MountStatus(Pod("inline")).ephemeral());
  WriteFile(Pod("inline") + "/x", "inline data");
  ASSERT_GRPC_OK(Unpublish(handle, Pod("inline")));
  EXPECT_FALSE(fsys::exists(Pod("inline")));
  // The data landed in the named volume of the pod's namespace's
  // environment, which a PV can then mount.
  ASSERT_GRPC_OK(Publish("default/scratch", Pod("reader")));
  EXPECT_EQ(ReadFile(Pod("reader") + "/x"), "inline data");
  ASSERT_GRPC_OK(Unpublish("default/scratch", Pod("reader")));

  // Without createIfMissing an inline volume must exist.
  attrs["name"] = "absent";
  attrs.erase("createIfMissing");
  grpc::Status st = Publish(handle + "ff", Pod("absent"), attrs);
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_TRUE(Contains(st.error_message(), "absent")) << st.error_message();
  EXPECT_FALSE(fsys::exists(Pod("absent")));
}

// A pod author in namespace team-a names team-b's environment in an inline
// volume: the real driver refuses before mounting, and team-b's volume is
// untouched. The admin's tenancy file can allow it.
TEST_F(CsiE2eTest, InlineVolumesCannotReachAnotherNamespacesEnvironment) {
  // team-b's data, written through its own inline volume.
  std::map<std::string, std::string> owner = {{"csi.storage.k8s.io/ephemeral", "true"},
                                              {"csi.storage.k8s.io/pod.namespace", "team-b"},
                                              {"name", "secrets"},
                                              {"createIfMissing", "true"}};
  ASSERT_GRPC_OK(Publish("csi-owner", Pod("owner"), owner));
  WriteFile(Pod("owner") + "/key", "team-b only");
  ASSERT_GRPC_OK(Unpublish("csi-owner", Pod("owner")));

  std::map<std::string, std::string> intruder = {{"csi.storage.k8s.io/ephemeral", "true"},
                                                 {"csi.storage.k8s.io/pod.namespace", "team-a"},
                                                 {"environment", "team-b"},
                                                 {"name", "secrets"}};
  grpc::Status st = Publish("csi-intruder", Pod("intruder"), intruder);
  EXPECT_EQ(st.error_code(), StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_FALSE(Mounted(Pod("intruder")));
  intruder["createIfMissing"] = "true";
  intruder["environment"] = "team-new";
  st = Publish("csi-intruder2", Pod("intruder2"), intruder);
  EXPECT_EQ(st.error_code(), StatusCode::PERMISSION_DENIED) << st.error_message();

  // The admin allows team-a to read team-b's environment.
  StopDriver(SIGTERM);
  const std::string file = dir_ + "/tenancy.yaml";
  WriteFile(file, "inlineVolumes:\n  team-a:\n    environments: [team-b]\n");
  extra_args_ = {"--tenancy-config=" + file};
  StartDriver();
  intruder.erase("createIfMissing");
  intruder["environment"] = "team-b";
  intruder["readOnly"] = "true";
  ASSERT_GRPC_OK(Publish("csi-allowed", Pod("allowed"), intruder));
  EXPECT_EQ(ReadFile(Pod("allowed") + "/key"), "team-b only");
  ASSERT_GRPC_OK(Unpublish("csi-allowed", Pod("allowed")));
}

// A tenancy file the driver cannot use stops it at start, naming the place.
TEST_F(CsiE2eTest, ABadTenancyFileStopsTheDriverWithItsLocation) {
  StopDriver(SIGTERM);
  const std::string file = dir_ + "/tenancy.yaml";
  WriteFile(file, "inlineVolumes:\n  team-a:\n    environmnets: [x]\n");
  const std::string err = dir_ + "/driver.err";
  pid_t pid = 0;
  std::vector<std::string> args = {SNAPVOL_DRIVER_BINARY,
                                   "--mode=node",
                                   "--endpoint=unix://" + dir_ + "/bad.sock",
                                   "--store=" + dir_ + "/store",
                                   "--state-dir=" + dir_ + "/state2",
                                   "--tenancy-config=" + file};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_EQ(::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status;
  EXPECT_TRUE(Contains(ReadFile(err), file + ":3:5: unknown key 'environmnets'")) << ReadFile(err);
}

TEST_F(CsiE2eTest, SnapshotAndRestore) {
  std::string id = CreateVolume("pvc-e2e-snap");
  ASSERT_GRPC_OK(Publish(id, Pod("w")));
  WriteFile(Pod("w") + "/state", "before");
  fsys::create_directories(Pod("w") + "/deep/er");
  WriteFile(Pod("w") + "/deep/er/file", std::string(100000, 'd'));
  EXPECT_EQ(Commit(Pod("w")), 1u);
  v1::CreateSnapshotResponse snap = Snapshot("snapshot-e2e", id);
  const std::string sid = snap.snapshot().snapshot_id();
  EXPECT_TRUE(snap.snapshot().ready_to_use());
  EXPECT_EQ(snap.snapshot().source_volume_id(), id);
  // The snapshotter repeats: same snapshot, even after the volume moved on.
  WriteFile(Pod("w") + "/state", "after");
  EXPECT_EQ(Commit(Pod("w")), 2u);
  EXPECT_EQ(Snapshot("snapshot-e2e", id).snapshot().snapshot_id(), sid);
  ASSERT_GRPC_OK(Unpublish(id, Pod("w")));

  {
    v1::ListSnapshotsRequest req;
    req.set_source_volume_id(id);
    v1::ListSnapshotsResponse resp;
    grpc::ClientContext ctx;
    ASSERT_GRPC_OK(controller_->ListSnapshots(&ctx, req, &resp));
    ASSERT_EQ(resp.entries_size(), 1);
    EXPECT_EQ(resp.entries(0).snapshot().snapshot_id(), sid);
  }

  // Restore: the new volume's version 1 is the snapshot's tree.
  std::string restored = CreateVolume("pvc-e2e-restored", sid);
  EXPECT_EQ(CreateVolume("pvc-e2e-restored", sid), restored);  // idempotent
  ASSERT_GRPC_OK(Publish(restored, Pod("r")));
  EXPECT_EQ(ReadFile(Pod("r") + "/state"), "before");
  EXPECT_EQ(ReadFile(Pod("r") + "/deep/er/file"), std::string(100000, 'd'));
  EXPECT_EQ(MountStatus(Pod("r")).base_version(), 1u);
  // The restored volume is a volume of its own.
  WriteFile(Pod("r") + "/state", "restored and changed");
  ASSERT_GRPC_OK(Unpublish(restored, Pod("r")));
  ASSERT_GRPC_OK(Publish(id, Pod("orig")));
  EXPECT_EQ(ReadFile(Pod("orig") + "/state"), "after");
  ASSERT_GRPC_OK(Unpublish(id, Pod("orig")));

  // Restoring into the same name from something else is refused.
  v1::CreateVolumeResponse resp;
  grpc::Status other = TryCreateVolume(CreateRequest("pvc-e2e-restored"), &resp);
  EXPECT_EQ(other.error_code(), StatusCode::ALREADY_EXISTS) << other.error_message();

  // The snapshot outlives its source volume, and deleting is idempotent.
  {
    v1::DeleteVolumeRequest req;
    req.set_volume_id(id);
    v1::DeleteVolumeResponse r;
    grpc::ClientContext ctx;
    ASSERT_GRPC_OK(controller_->DeleteVolume(&ctx, req, &r));
  }
  std::string again = CreateVolume("pvc-e2e-restored-2", sid);
  ASSERT_GRPC_OK(Publish(again, Pod("r2")));
  EXPECT_EQ(ReadFile(Pod("r2") + "/state"), "before");
  ASSERT_GRPC_OK(Unpublish(again, Pod("r2")));
  for (int i = 0; i < 2; i++) {
    v1::DeleteSnapshotRequest req;
    req.set_snapshot_id(sid);
    v1::DeleteSnapshotResponse r;
    grpc::ClientContext ctx;
    ASSERT_GRPC_OK(controller_->DeleteSnapshot(&ctx, req, &r));
  }
  grpc::Status gone = TryCreateVolume(CreateRequest("pvc-e2e-restored-3", sid), &resp);
  EXPECT_EQ(gone.error_code(), StatusCode::NOT_FOUND) << gone.error_message();
}

TEST_F(CsiE2eTest, BadRequestsGetTheSpecCodesAndNameTheVolume) {
  std::string id = CreateVolume("pvc-e2e-bad");
  // CreateVolume.
  {
    v1::CreateVolumeResponse resp;
    EXPECT_EQ(TryCreateVolume({}, &resp).error_code(), StatusCode::INVALID_ARGUMENT);
    v1::CreateVolumeRequest no_caps = CreateRequest("pvc-e2e-nocaps");
    no_caps.clear_volume_capabilities();
    grpc::Status st = TryCreateVolume(no_caps, &resp);
    EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(Contains(st.error_message(), "pvc-e2e-nocaps")) << st.error_message();
    v1::CreateVolumeRequest bigger = CreateRequest("pvc-e2e-bad");
    bigger.mutable_capacity_range()->set_required_bytes(1 << 30);
    st = TryCreateVolume(bigger, &resp);
    EXPECT_EQ(st.error_code(), StatusCode::ALREADY_EXISTS);
    EXPECT_TRUE(Contains(st.error_message(), "pvc-e2e-bad")) << st.error_message();
    st = TryCreateVolume(CreateRequest("pvc-e2e-from-nothing", "main/nope@1#0000"), &resp);
    EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
    EXPECT_TRUE(Contains(st.error_message(), "pvc-e2e-from-nothing")) << st.error_message();
  }
  // DeleteVolume, ValidateVolumeCapabilities, ControllerGetVolume.
  {
    v1::DeleteVolumeRequest req;
    v1::DeleteVolumeResponse resp;
    grpc::ClientContext c1;
    EXPECT_EQ(controller_->DeleteVolume(&c1, req, &resp).error_code(),
              StatusCode::INVALID_ARGUMENT);
    req.set_volume_id("main/never-existed");
    grpc::ClientContext c2;
    EXPECT_TRUE(controller_->DeleteVolume(&c2, req, &resp).ok());

    v1::ValidateVolumeCapabilitiesRequest vreq;
    v1::ValidateVolumeCapabilitiesResponse vresp;
    grpc::ClientContext c3;
    EXPECT_EQ(controller_->ValidateVolumeCapabilities(&c3, vreq, &vresp).error_code(),
              StatusCode::INVALID_ARGUMENT);
    vreq.set_volume_id(id);
    grpc::ClientContext c4;
    grpc::Status st = controller_->ValidateVolumeCapabilities(&c4, vreq, &vresp);
    EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(Contains(st.error_message(), id)) << st.error_message();
    *vreq.add_volume_capabilities() = Cap(Mode::SINGLE_NODE_WRITER);
    grpc::ClientContext c5;
    ASSERT_GRPC_OK(controller_->ValidateVolumeCapabilities(&c5, vreq, &vresp));
    EXPECT_EQ(vresp.confirmed().volume_capabilities_size(), 1);
    vreq.set_volume_id("main/never-existed");
    grpc::ClientContext c6;
    st = controller_->ValidateVolumeCapabilities(&c6, vreq, &vresp);
    EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
    EXPECT_TRUE(Contains(st.error_message(), "never-existed")) << st.error_message();

    v1::ControllerGetVolumeRequest greq;
    greq.set_volume_id("main/never-existed");
    v1::ControllerGetVolumeResponse gresp;
    grpc::ClientContext c7;
    EXPECT_EQ(controller_->ControllerGetVolume(&c7, greq, &gresp).error_code(),
              StatusCode::NOT_FOUND);
    v1::ListVolumesRequest lreq;
    lreq.set_starting_token("7");
    v1::ListVolumesResponse lresp;
    grpc::ClientContext c8;
    EXPECT_EQ(controller_->ListVolumes(&c8, lreq, &lresp).error_code(), StatusCode::ABORTED);
  }
  // Snapshots.
  {
    v1::CreateSnapshotRequest req;
    v1::CreateSnapshotResponse resp;
    grpc::ClientContext c1;
    EXPECT_EQ(controller_->CreateSnapshot(&c1, req, &resp).error_code(),
              StatusCode::INVALID_ARGUMENT);
    req.set_name("snap-e2e-bad");
    grpc::ClientContext c2;
    EXPECT_EQ(controller_->CreateSnapshot(&c2, req, &resp).error_code(),
              StatusCode::INVALID_ARGUMENT);
    req.set_source_volume_id("main/never-existed");
    grpc::ClientContext c3;
    grpc::Status st = controller_->CreateSnapshot(&c3, req, &resp);
    EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
    EXPECT_TRUE(Contains(st.error_message(), "never-existed")) << st.error_message();
    req.set_source_volume_id(id);
    grpc::ClientContext c4;
    ASSERT_GRPC_OK(controller_->CreateSnapshot(&c4, req, &resp));
    std::string other = CreateVolume("pvc-e2e-bad-2");
    req.set_source_volume_id(other);
    grpc::ClientContext c5;
    st = controller_->CreateSnapshot(&c5, req, &resp);
    EXPECT_EQ(st.error_code(), StatusCode::ALREADY_EXISTS);
    EXPECT_TRUE(Contains(st.error_message(), "snap-e2e-bad")) << st.error_message();
    v1::DeleteSnapshotRequest dreq;
    v1::DeleteSnapshotResponse dresp;
    grpc::ClientContext c6;
    EXPECT_EQ(controller_->DeleteSnapshot(&c6, dreq, &dresp).error_code(),
              StatusCode::INVALID_ARGUMENT);
  }
  // NodePublishVolume, in csi-sanity's order: no id, no target, no capability.
  {
    v1::NodePublishVolumeRequest req;
    EXPECT_EQ(Publish(req).error_code(), StatusCode::INVALID_ARGUMENT);
    req.set_volume_id("fake-vol-id");
    EXPECT_EQ(Publish(req).error_code(), StatusCode::INVALID_ARGUMENT);
    req.set_target_path(Pod("x"));
    grpc::Status st = Publish(req);
    EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(Contains(st.error_message(), "fake-vol-id")) << st.error_message();
    v1::VolumeCapability block;
    block.mutable_block();
    block.mutable_access_mode()->set_mode(Mode::SINGLE_NODE_WRITER);
    *req.mutable_volume_capability() = block;
    req.set_volume_id(id);
    st = Publish(req);
    EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT) << st.error_message();
    *req.mutable_volume_capability() = Cap();
    req.set_volume_id("main/never-existed");
    st = Publish(req);
    EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
    EXPECT_TRUE(Contains(st.error_message(), "never-existed")) << st.error_message();
    EXPECT_FALSE(fsys::exists(Pod("x")));  // a failed publish leaves nothing
    // Another volume on a target that already holds one.
    ASSERT_GRPC_OK(Publish(id, Pod("taken")));
    std::string other = "main/pvc-e2e-bad-2";
    st = Publish(other, Pod("taken"));
    EXPECT_EQ(st.error_code(), StatusCode::ALREADY_EXISTS);
    EXPECT_TRUE(Contains(st.error_message(), other)) << st.error_message();
    // The same volume read-only on that target is incompatible too.
    v1::NodePublishVolumeRequest ro = PublishRequest(id, Pod("taken"));
    ro.set_readonly(true);
    EXPECT_EQ(Publish(ro).error_code(), StatusCode::ALREADY_EXISTS);
    EXPECT_TRUE(Mounted(Pod("taken")));
    // Unpublishing another volume's target names both.
    st = Unpublish(other, Pod("taken"));
    EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
    EXPECT_TRUE(Contains(st.error_message(), other)) << st.error_message();
    EXPECT_TRUE(Mounted(Pod("taken")));
    ASSERT_GRPC_OK(Unpublish(id, Pod("taken")));
  }
  // NodeUnpublishVolume and NodeGetVolumeStats.
  {
    EXPECT_EQ(Unpublish("", Pod("x")).error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(Unpublish(id, "").error_code(), StatusCode::INVALID_ARGUMENT);
    ASSERT_GRPC_OK(Unpublish(id, Pod("never-published")));
    v1::NodeGetVolumeStatsResponse resp;
    EXPECT_EQ(Stats("", "some/path", &resp).error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(Stats(id, "", &resp).error_code(), StatusCode::INVALID_ARGUMENT);
    grpc::Status st = Stats(id, "some/path", &resp);
    EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
    EXPECT_TRUE(Contains(st.error_message(), id)) << st.error_message();
  }
  // snapvol.v1.Node.
  {
    sv::CommitResponse resp;
    grpc::Status st = TryCommit(Pod("nothing-here"), &resp);
    EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
    EXPECT_EQ(TryCommit("", &resp).error_code(), StatusCode::INVALID_ARGUMENT);
    v1::NodePublishVolumeRequest ro = PublishRequest(id, Pod("ro"));
    ro.set_readonly(true);
    ASSERT_GRPC_OK(Publish(ro));
    st = TryCommit(Pod("ro"), &resp);
    EXPECT_EQ(st.error_code(), StatusCode::FAILED_PRECONDITION);
    EXPECT_TRUE(Contains(st.error_message(), id)) << st.error_message();
    EXPECT_NE(::mkdir((Pod("ro") + "/d").c_str(), 0755), 0);
    EXPECT_EQ(errno, EROFS);
    ASSERT_GRPC_OK(Unpublish(id, Pod("ro")));
  }
}

// What csi-sanity's "Node Service should work / should be idempotent" does:
// a single-node-writer volume with a capacity, published repeatedly to a
// target the driver creates, stats, unpublish removes the target, delete.
TEST_F(CsiE2eTest, SanityNodeSequence) {
  v1::CreateVolumeRequest req = CreateRequest("sanity-node-full-1");
  *req.mutable_volume_capabilities(0) = Cap(Mode::SINGLE_NODE_WRITER);
  req.mutable_capacity_range()->set_required_bytes(10 << 20);
  v1::CreateVolumeResponse vol;
  ASSERT_GRPC_OK(TryCreateVolume(req, &vol));
  EXPECT_EQ(vol.volume().capacity_bytes(), 10 << 20);
  v1::NodePublishVolumeRequest pub =
      PublishRequest(vol.volume().volume_id(), Pod("target"),
                     {vol.volume().volume_context().begin(), vol.volume().volume_context().end()});
  *pub.mutable_volume_capability() = Cap(Mode::SINGLE_NODE_WRITER);
  for (int i = 0; i < 10; i++) ASSERT_GRPC_OK(Publish(pub));
  v1::NodeGetVolumeStatsResponse stats;
  ASSERT_GRPC_OK(Stats(vol.volume().volume_id(), Pod("target"), &stats));
  ASSERT_EQ(stats.usage_size(), 2);
  EXPECT_EQ(stats.usage(0).unit(), v1::VolumeUsage::BYTES);
  EXPECT_GT(stats.usage(0).total(), 0);
  EXPECT_EQ(stats.usage(1).unit(), v1::VolumeUsage::INODES);
  EXPECT_GT(stats.usage(1).total(), 0);
  EXPECT_FALSE(stats.volume_condition().abnormal()) << stats.volume_condition().message();
  ASSERT_GRPC_OK(Unpublish(vol.volume().volume_id(), Pod("target")));
  EXPECT_FALSE(fsys::exists(Pod("target")));
  v1::DeleteVolumeRequest del;
  del.set_volume_id(vol.volume().volume_id());
  v1::DeleteVolumeResponse dresp;
  for (int i = 0; i < 2; i++) {
    grpc::ClientContext ctx;
    ASSERT_GRPC_OK(controller_->DeleteVolume(&ctx, del, &dresp));
  }
  v1::ListVolumesResponse list;
  grpc::ClientContext ctx;
  ASSERT_GRPC_OK(controller_->ListVolumes(&ctx, {}, &list));
  EXPECT_EQ(list.entries_size(), 0);
}

TEST_F(CsiE2eTest, MountsSurviveADriverRestart) {
  std::string id = CreateVolume("pvc-e2e-restart");
  ASSERT_GRPC_OK(Publish(id, Pod("live")));
  WriteFile(Pod("live") + "/written-before-kill", "kept");
  const int64_t server_pid = MountStatus(Pod("live")).pid();
  int status = StopDriver(SIGKILL);
  ASSERT_TRUE(WIFSIGNALED(status));
  // The mount server is its own process: the mount keeps serving.
  EXPECT_EQ(::kill(static_cast<pid_t>(server_pid), 0), 0);
  EXPECT_EQ(ReadFile(Pod("live") + "/written-before-kill"), "kept");
  WriteFile(Pod("live") + "/written-while-down", "also kept");
  StartDriver();
  // The restarted driver finds the mount from its state directory.
  sv::StatusResponse found = MountStatus(Pod("live"));
  EXPECT_TRUE(found.healthy()) << found.message();
  EXPECT_EQ(found.volume_id(), id);
  EXPECT_EQ(found.pid(), server_pid);
  v1::NodeGetVolumeStatsResponse stats;
  ASSERT_GRPC_OK(Stats(id, Pod("live"), &stats));
  EXPECT_FALSE(stats.volume_condition().abnormal()) << stats.volume_condition().message();
  ASSERT_GRPC_OK(Publish(id, Pod("live")));               // kubelet's repeat after restart
  EXPECT_EQ(MountStatus(Pod("live")).pid(), server_pid);  // no second mount
  ASSERT_GRPC_OK(Unpublish(id, Pod("live")));             // final commit
  EXPECT_FALSE(Mounted(Pod("live")));
  EXPECT_FALSE(fsys::exists(Pod("live")));
  ASSERT_GRPC_OK(Publish(id, Pod("after")));
  EXPECT_EQ(ReadFile(Pod("after") + "/written-before-kill"), "kept");
  EXPECT_EQ(ReadFile(Pod("after") + "/written-while-down"), "also kept");
  ASSERT_GRPC_OK(Unpublish(id, Pod("after")));
}

TEST_F(CsiE2eTest, DeadMountServerIsReportedAndItsWritesRecovered) {
  std::string id = CreateVolume("pvc-e2e-dead");
  ASSERT_GRPC_OK(Publish(id, Pod("doomed")));
  WriteFile(Pod("doomed") + "/pending", "written, never committed");
  const int64_t server_pid = MountStatus(Pod("doomed")).pid();
  ASSERT_GT(server_pid, 0);
  // The mount server was started (indirectly) by this test's driver.
  ASSERT_EQ(::kill(static_cast<pid_t>(server_pid), SIGKILL), 0);
  for (int i = 0; i < 100 && ::kill(static_cast<pid_t>(server_pid), 0) == 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  v1::NodeGetVolumeStatsResponse stats;
  ASSERT_GRPC_OK(Stats(id, Pod("doomed"), &stats));
  EXPECT_TRUE(stats.volume_condition().abnormal());
  EXPECT_TRUE(Contains(stats.volume_condition().message(), id))
      << stats.volume_condition().message();
  EXPECT_FALSE(MountStatus(Pod("doomed")).healthy());
  // kubelet tears the pod down: the dead mount is detached and what reached
  // the write layer is committed by recovery (S9).
  ASSERT_GRPC_OK(Unpublish(id, Pod("doomed")));
  EXPECT_FALSE(Mounted(Pod("doomed")));
  EXPECT_FALSE(fsys::exists(Pod("doomed")));
  ASSERT_GRPC_OK(Publish(id, Pod("next")));
  EXPECT_EQ(ReadFile(Pod("next") + "/pending"), "written, never committed");
  ASSERT_GRPC_OK(Unpublish(id, Pod("next")));
}

TEST_F(CsiE2eTest, VolumeAttributesPinAVersionAndSetTheCommitInterval) {
  std::string id = CreateVolume("pvc-e2e-attrs");
  ASSERT_GRPC_OK(Publish(id, Pod("w")));
  WriteFile(Pod("w") + "/f", "v1");
  EXPECT_EQ(Commit(Pod("w")), 1u);
  WriteFile(Pod("w") + "/f", "v2");
  EXPECT_EQ(Commit(Pod("w")), 2u);
  ASSERT_GRPC_OK(Unpublish(id, Pod("w")));

  // version: that version, read-only, and it never reloads.
  ASSERT_GRPC_OK(Publish(id, Pod("pinned"), {{"version", "1"}}));
  EXPECT_EQ(ReadFile(Pod("pinned") + "/f"), "v1");
  EXPECT_NE(::mkdir((Pod("pinned") + "/d").c_str(), 0755), 0);
  sv::ReloadRequest rreq;
  rreq.set_target_path(Pod("pinned"));
  sv::ReloadResponse rresp;
  grpc::ClientContext rctx;
  EXPECT_EQ(snapvol_->Reload(&rctx, rreq, &rresp).error_code(), StatusCode::FAILED_PRECONDITION);
  ASSERT_GRPC_OK(Unpublish(id, Pod("pinned")));
  grpc::Status st = Publish(id, Pod("future"), {{"version", "9"}});
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_TRUE(Contains(st.error_message(), "pvc-e2e-attrs")) << st.error_message();

  // readOnly: the head, read-only.
  ASSERT_GRPC_OK(Publish(id, Pod("ro"), {{"readOnly", "true"}}));
  EXPECT_EQ(ReadFile(Pod("ro") + "/f"), "v2");
  EXPECT_TRUE(MountStatus(Pod("ro")).read_only());
  ASSERT_GRPC_OK(Unpublish(id, Pod("ro")));

  // commitInterval: the mount commits in the background (the driver's own
  // default here is 0 = off). Wait for it, without assuming how fast.
  ASSERT_GRPC_OK(Publish(id, Pod("bg"), {{"commitInterval", "100ms"}}));
  EXPECT_EQ(MountStatus(Pod("bg")).commit_interval_ms(), 100u);
  WriteFile(Pod("bg") + "/background", "committed without asking");
  ASSERT_GRPC_OK(Publish(id, Pod("watcher")));
  bool seen = false;
  for (int i = 0; i < 600 && !seen; i++) {
    Reload(Pod("watcher"));
    seen = fsys::exists(Pod("watcher") + "/background");
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(seen);
  ASSERT_GRPC_OK(Unpublish(id, Pod("bg")));
  ASSERT_GRPC_OK(Unpublish(id, Pod("watcher")));

  // environment: the same name in another environment is another volume.
  v1::CreateVolumeRequest other = CreateRequest("pvc-e2e-attrs");
  (*other.mutable_parameters())["environment"] = "staging";
  v1::CreateVolumeResponse created;
  ASSERT_GRPC_OK(TryCreateVolume(other, &created));
  EXPECT_EQ(created.volume().volume_id(), "staging/pvc-e2e-attrs");
  ASSERT_GRPC_OK(Publish(created.volume().volume_id(), Pod("staging")));
  EXPECT_FALSE(fsys::exists(Pod("staging") + "/f"));
  ASSERT_GRPC_OK(Unpublish(created.volume().volume_id(), Pod("staging")));
}

TEST_F(CsiE2eTest, FsGroupIsHonouredByTheMountNotByAWalk) {
  std::string id = CreateVolume("pvc-e2e-fsgroup");
  // Without a mount group, a non-root pod user cannot write the root (0755 root:root).
  ASSERT_GRPC_OK(Publish(id, Pod("plain")));
  EXPECT_EQ(AsUser(Pod("plain"), {4242}, CreateFileHere), EACCES);
  ASSERT_GRPC_OK(Unpublish(id, Pod("plain")));

  // kubelet passes the pod's fsGroup in volume_mount_group.
  v1::NodePublishVolumeRequest req = PublishRequest(id, Pod("grouped"));
  req.mutable_volume_capability()->mutable_mount()->set_volume_mount_group("4242");
  ASSERT_GRPC_OK(Publish(req));
  struct stat root {};
  ASSERT_EQ(::stat(Pod("grouped").c_str(), &root), 0);
  EXPECT_EQ(root.st_gid, 4242u);
  EXPECT_EQ(root.st_mode & (S_IRWXG | S_ISGID), static_cast<mode_t>(S_IRWXG | S_ISGID));
  EXPECT_EQ(AsUser(Pod("grouped"), {4242}, CreateFileHere), 0);
  struct stat made {};
  ASSERT_EQ(::stat((Pod("grouped") + "/made-by-pod").c_str(), &made), 0);
  EXPECT_EQ(made.st_uid, 1000u);
  EXPECT_EQ(made.st_gid, 4242u);  // inherited from the set-group-ID root
  // Users outside the group still cannot write.
  ASSERT_EQ(::unlink((Pod("grouped") + "/made-by-pod").c_str()), 0);
  EXPECT_EQ(AsUser(Pod("grouped"), {777}, CreateFileHere), EACCES);
  ASSERT_GRPC_OK(Unpublish(id, Pod("grouped")));

  // The root's group was committed once; the next pod finds it set.
  ASSERT_GRPC_OK(Publish(req.volume_id(), Pod("next")));
  ASSERT_EQ(::stat(Pod("next").c_str(), &root), 0);
  EXPECT_EQ(root.st_gid, 4242u);
  ASSERT_GRPC_OK(Unpublish(id, Pod("next")));

  v1::NodePublishVolumeRequest bad = PublishRequest(id, Pod("bad"));
  bad.mutable_volume_capability()->mutable_mount()->set_volume_mount_group("staff");
  EXPECT_EQ(Publish(bad).error_code(), StatusCode::INVALID_ARGUMENT);
}

}  // namespace
