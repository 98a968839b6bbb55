// Node service through the real gRPC server with a FakeMounter: argument
// validation codes, idempotency, target path creation and removal (what
// csi-sanity checks), ephemeral volumes, stats and driver restart.
#include "driver/csi/node_service.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <set>

#include "tests/csi/csi_harness.h"

namespace snapvol::csi {
namespace {

namespace v1 = ::csi::v1;
using grpc::StatusCode;

bool IsDir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool Exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

class NodeServiceTest : public CsiHarness {
 protected:
  std::string Target(const std::string& name = "target") { return pods_dir() + "/" + name; }

  v1::NodeGetVolumeStatsResponse Stats(const std::string& id, const std::string& path,
                                       grpc::Status* st) {
    v1::NodeGetVolumeStatsRequest req;
    req.set_volume_id(id);
    req.set_volume_path(path);
    v1::NodeGetVolumeStatsResponse resp;
    grpc::ClientContext ctx;
    *st = node_->NodeGetVolumeStats(&ctx, req, &resp);
    return resp;
  }
};

TEST_F(NodeServiceTest, InfoAndCapabilities) {
  v1::NodeGetInfoResponse info;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(node_->NodeGetInfo(&ctx, {}, &info).ok());
  }
  EXPECT_EQ(info.node_id(), "node-1");
  EXPECT_EQ(info.max_volumes_per_node(), 0);
  v1::NodeGetCapabilitiesResponse caps;
  grpc::ClientContext ctx;
  ASSERT_TRUE(node_->NodeGetCapabilities(&ctx, {}, &caps).ok());
  std::set<int> types;
  for (const auto& c : caps.capabilities()) types.insert(c.rpc().type());
  using Rpc = v1::NodeServiceCapability::RPC;
  EXPECT_EQ(types, (std::set<int>{Rpc::GET_VOLUME_STATS, Rpc::VOLUME_CONDITION,
                                  Rpc::SINGLE_NODE_MULTI_WRITER, Rpc::VOLUME_MOUNT_GROUP}));
}

TEST_F(NodeServiceTest, PublishValidatesArguments) {
  v1::NodePublishVolumeRequest req;
  v1::NodePublishVolumeResponse resp;
  auto call = [&] {
    grpc::ClientContext ctx;
    return node_->NodePublishVolume(&ctx, req, &resp);
  };
  EXPECT_EQ(call().error_code(), StatusCode::INVALID_ARGUMENT);  // no volume id
  req.set_volume_id("main/v");
  EXPECT_EQ(call().error_code(), StatusCode::INVALID_ARGUMENT);  // no target path
  req.set_target_path(Target());
  EXPECT_EQ(call().error_code(), StatusCode::INVALID_ARGUMENT);  // no capability
  req.mutable_volume_capability()->mutable_block();
  req.mutable_volume_capability()->mutable_access_mode()->set_mode(
      v1::VolumeCapability::AccessMode::SINGLE_NODE_WRITER);
  EXPECT_EQ(call().error_code(), StatusCode::INVALID_ARGUMENT);  // block
  req.mutable_volume_capability()->mutable_mount();
  req.set_target_path("relative/path");
  EXPECT_EQ(call().error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(mounter_.mount_calls, 0);
  EXPECT_FALSE(Exists(Target()));
}

// Whoever reaches the socket must not get a volume mounted over a system
// directory: targets stay below the kubelet directory, normalized, and no
// symlink below it leads out.
TEST_F(NodeServiceTest, TargetsOutsideTheKubeletDirectoryAreRefused) {
  std::string id = MustCreate("vol");
  const std::string outside = dir_.path() + "-outside";
  ASSERT_EQ(::mkdir(outside.c_str(), 0755), 0);
  ASSERT_EQ(::symlink(outside.c_str(), (pods_dir() + "/escape").c_str()), 0);
  struct Case {
    std::string target;
    StatusCode code;
  };
  const Case cases[] = {
      {"/etc", StatusCode::PERMISSION_DENIED},
      {outside + "/mnt", StatusCode::PERMISSION_DENIED},
      {pods_dir() + "/../../etc", StatusCode::INVALID_ARGUMENT},
      {pods_dir() + "/./a", StatusCode::INVALID_ARGUMENT},
      {pods_dir() + "//a", StatusCode::INVALID_ARGUMENT},
      {pods_dir() + "/a/", StatusCode::INVALID_ARGUMENT},
      {dir_.path(), StatusCode::PERMISSION_DENIED},  // the kubelet directory itself
      {pods_dir() + "/escape/mnt", StatusCode::PERMISSION_DENIED},
      {pods_dir() + "/escape", StatusCode::PERMISSION_DENIED},
  };
  for (const Case& c : cases) {
    grpc::Status st = Publish(id, c.target);
    EXPECT_EQ(st.error_code(), c.code) << c.target << ": " << st.error_message();
  }
  EXPECT_EQ(mounter_.mount_calls, 0);
  EXPECT_FALSE(Exists(outside + "/mnt"));
  ASSERT_TRUE(Publish(id, Target("fine")).ok());
  ASSERT_TRUE(Unpublish(id, Target("fine")).ok());
  ::unlink((pods_dir() + "/escape").c_str());
  ::rmdir(outside.c_str());
}

// The socket is root's only: another local user cannot even connect.
TEST_F(NodeServiceTest, TheSocketIsOwnerOnly) {
  const std::string socket = dir_.path() + "/csi.sock";
  struct stat st {};
  ASSERT_EQ(::stat(socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  if (::geteuid() != 0) GTEST_SKIP() << "the other-user check needs root";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) _exit(2);
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket.c_str());
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    _exit(rc != 0 && errno == EACCES ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_F(NodeServiceTest, PublishUnknownVolumesIsNotFound) {
  grpc::Status st = Publish("main/absent", Target());
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("absent"), std::string::npos);
  EXPECT_EQ(Publish("fake-vol-id-1", Target()).error_code(), StatusCode::NOT_FOUND);
  EXPECT_FALSE(Exists(Target()));
}

TEST_F(NodeServiceTest, PublishCreatesTargetAndUnpublishRemovesIt) {
  std::string id = MustCreate("vol");
  ASSERT_TRUE(Publish(id, Target()).ok());
  EXPECT_TRUE(IsDir(Target()));
  ASSERT_TRUE(mounter_.IsMounted(Target()));
  MountSpec spec = mounter_.SpecAt(Target());
  EXPECT_EQ(spec.environment, "main");
  EXPECT_EQ(spec.volume, "vol");
  EXPECT_FALSE(spec.read_only);
  EXPECT_EQ(spec.author.host(), "node-1");
  EXPECT_EQ(spec.author.tool(), "csi");

  ASSERT_TRUE(Unpublish(id, Target()).ok());
  EXPECT_FALSE(Exists(Target()));
  EXPECT_FALSE(mounter_.IsMounted(Target()));
  // Idempotent.
  ASSERT_TRUE(Unpublish(id, Target()).ok());
}

TEST_F(NodeServiceTest, PublishIsIdempotent) {
  std::string id = MustCreate("vol");
  for (int i = 0; i < 3; i++) ASSERT_TRUE(Publish(id, Target()).ok()) << i;
  EXPECT_EQ(mounter_.mount_calls, 1);
}

TEST_F(NodeServiceTest, IncompatiblePublishOnTheSameTargetIsAlreadyExists) {
  std::string a = MustCreate("a");
  std::string b = MustCreate("b");
  ASSERT_TRUE(Publish(a, Target()).ok());
  EXPECT_EQ(Publish(b, Target()).error_code(), StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Publish(a, Target(), {}, /*readonly=*/true).error_code(), StatusCode::ALREADY_EXISTS);
}

TEST_F(NodeServiceTest, ReadOnlyModesAndVersionsMountReadOnly) {
  std::string id = MustCreate("ro");
  ASSERT_TRUE(Publish(id, Target("a"), {}, /*readonly=*/true).ok());
  EXPECT_TRUE(mounter_.SpecAt(Target("a")).read_only);

  v1::NodePublishVolumeRequest req;
  req.set_volume_id(id);
  req.set_target_path(Target("b"));
  *req.mutable_volume_capability() =
      MountCap(v1::VolumeCapability::AccessMode::MULTI_NODE_READER_ONLY);
  v1::NodePublishVolumeResponse resp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(node_->NodePublishVolume(&ctx, req, &resp).ok());
  }
  EXPECT_TRUE(mounter_.SpecAt(Target("b")).read_only);

  // version pins need the version to exist
  EXPECT_EQ(Publish(id, Target("c"), {{"version", "3"}}).error_code(), StatusCode::NOT_FOUND);
  EXPECT_FALSE(Exists(Target("c")));
}

TEST_F(NodeServiceTest, ManyPublicationsOfOneVolume) {
  std::string id = MustCreate("shared");
  for (int i = 0; i < 4; i++) ASSERT_TRUE(Publish(id, Target("p" + std::to_string(i))).ok());
  for (int i = 0; i < 4; i++) ASSERT_TRUE(Unpublish(id, Target("p" + std::to_string(i))).ok());
}

TEST_F(NodeServiceTest, AttributesMustAgreeWithTheId) {
  std::string id = MustCreate("agree");
  EXPECT_EQ(Publish(id, Target(), {{"name", "other"}}).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(Publish(id, Target(), {{"name", "agree"}, {"environment", "main"}}).ok());
}

TEST_F(NodeServiceTest, EphemeralInlineVolumes) {
  std::map<std::string, std::string> ctx = {{"csi.storage.k8s.io/ephemeral", "true"},
                                            {"csi.storage.k8s.io/pod.name", "writer"},
                                            {"csi.storage.k8s.io/pod.namespace", "default"},
                                            {"name", "scratch"}};
  // Missing volume without createIfMissing.
  EXPECT_EQ(Publish("csi-abc", Target(), ctx).error_code(), StatusCode::NOT_FOUND);
  ctx["createIfMissing"] = "true";
  ctx["commitInterval"] = "1s";
  ASSERT_TRUE(Publish("csi-abc", Target(), ctx).ok());
  // In the pod's namespace's environment, created for it.
  EXPECT_TRUE(engine_->GetVolume("default", "scratch").ok());
  EXPECT_FALSE(engine_->GetVolume("main", "scratch").ok());
  MountSpec spec = mounter_.SpecAt(Target());
  EXPECT_EQ(spec.volume, "scratch");
  EXPECT_EQ(spec.author.pod(), "writer");
  EXPECT_EQ(*spec.commit_interval, std::chrono::milliseconds(1000));
  grpc::Status st;
  auto stats = Stats("csi-abc", Target(), &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(Unpublish("csi-abc", Target()).ok());
  EXPECT_FALSE(Exists(Target()));
  // The volume itself is persistent: it stays.
  EXPECT_TRUE(engine_->GetVolume("default", "scratch").ok());

  std::map<std::string, std::string> ns_ctx = {{"csi.storage.k8s.io/ephemeral", "true"},
                                               {"csi.storage.k8s.io/pod.namespace", "team-x"},
                                               {"environmentFromNamespace", "true"},
                                               {"createIfMissing", "true"},
                                               {"name", "scratch"}};
  ASSERT_TRUE(Publish("csi-def", Target("ns"), ns_ctx).ok());
  EXPECT_TRUE(engine_->GetVolume("team-x", "scratch").ok());
  EXPECT_EQ(
      Publish("csi-x", Target("bad"), {{"csi.storage.k8s.io/ephemeral", "true"}}).error_code(),
      StatusCode::INVALID_ARGUMENT);
}

// A pod author writes an inline volume's attributes: naming another
// namespace's environment is refused, and nothing of that environment is
// read, created or mounted.
TEST_F(NodeServiceTest, InlineVolumesReachOnlyTheirNamespacesEnvironment) {
  ASSERT_TRUE(engine_->CreateEnvironment("team-b").ok());
  ASSERT_TRUE(engine_->CreateVolume("team-b", "secrets", {}).ok());
  std::map<std::string, std::string> ctx = {{"csi.storage.k8s.io/ephemeral", "true"},
                                            {"csi.storage.k8s.io/pod.name", "intruder"},
                                            {"csi.storage.k8s.io/pod.namespace", "team-a"},
                                            {"environment", "team-b"},
                                            {"name", "secrets"}};
  grpc::Status st = Publish("csi-1", Target("a"), ctx);
  EXPECT_EQ(st.error_code(), StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_NE(st.error_message().find("--tenancy-config"), std::string::npos) << st.error_message();
  EXPECT_FALSE(Exists(Target("a")));
  EXPECT_EQ(mounter_.mount_calls, 0);
  // createIfMissing neither creates a volume there nor a new environment.
  ctx["createIfMissing"] = "true";
  ctx["name"] = "planted";
  EXPECT_EQ(Publish("csi-2", Target("b"), ctx).error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_FALSE(engine_->GetVolume("team-b", "planted").ok());
  ctx["environment"] = "brand-new";
  EXPECT_EQ(Publish("csi-3", Target("c"), ctx).error_code(), StatusCode::PERMISSION_DENIED);
  auto envs = engine_->ListEnvironments();
  ASSERT_TRUE(envs.ok());
  for (const auto& e : *envs) EXPECT_NE(e.name, "brand-new");
  // "Own namespace" comes from kubelet's key; a pod-set environmentFromNamespace
  // does not widen it.
  ctx.erase("environment");
  ctx["environmentFromNamespace"] = "true";
  ASSERT_TRUE(Publish("csi-4", Target("d"), ctx).ok());
  EXPECT_TRUE(engine_->GetVolume("team-a", "planted").ok());
}

// The admin widens the rule in the tenancy file: listed environments are
// reachable (they must exist), createIfMissing can be turned off.
TEST_F(NodeServiceTest, TheTenancyFileWidensWhatANamespaceReaches) {
  auto policy = TenancyPolicy::Parse(
      "inlineVolumes:\n"
      "  team-a:\n"
      "    environments: [models]\n"
      "  \"*\":\n"
      "    environments: [public]\n"
      "    createIfMissing: false\n",
      "tenancy.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  tenancy_ = *policy;
  StartServer();
  ASSERT_TRUE(engine_->CreateEnvironment("models").ok());
  ASSERT_TRUE(engine_->CreateVolume("models", "llm", {}).ok());
  ASSERT_TRUE(engine_->CreateEnvironment("public").ok());
  ASSERT_TRUE(engine_->CreateVolume("public", "datasets", {}).ok());
  auto ctx = [](const std::string& ns, const std::string& env, const std::string& name) {
    return std::map<std::string, std::string>{{"csi.storage.k8s.io/ephemeral", "true"},
                                              {"csi.storage.k8s.io/pod.namespace", ns},
                                              {"environment", env},
                                              {"name", name}};
  };
  EXPECT_TRUE(Publish("csi-1", Target("1"), ctx("team-a", "models", "llm")).ok());
  EXPECT_TRUE(Publish("csi-2", Target("2"), ctx("team-a", "public", "datasets")).ok());
  EXPECT_TRUE(Publish("csi-3", Target("3"), ctx("team-z", "public", "datasets")).ok());
  EXPECT_EQ(Publish("csi-4", Target("4"), ctx("team-z", "models", "llm")).error_code(),
            StatusCode::PERMISSION_DENIED);
  // team-a's own rule does not say; "*" forbids creating volumes.
  auto create = ctx("team-a", "team-a", "fresh");
  create["createIfMissing"] = "true";
  EXPECT_EQ(Publish("csi-5", Target("5"), create).error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_FALSE(engine_->GetVolume("team-a", "fresh").ok());
}

TEST_F(NodeServiceTest, MountGroupIsPassedToTheMountServer) {
  std::string id = MustCreate("grouped");
  v1::NodePublishVolumeRequest req;
  req.set_volume_id(id);
  req.set_target_path(Target());
  *req.mutable_volume_capability() = MountCap();
  req.mutable_volume_capability()->mutable_mount()->set_volume_mount_group("2000");
  v1::NodePublishVolumeResponse resp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(node_->NodePublishVolume(&ctx, req, &resp).ok());
  }
  EXPECT_EQ(*mounter_.SpecAt(Target()).mount_group, 2000u);
  req.set_target_path(Target("bad"));
  req.mutable_volume_capability()->mutable_mount()->set_volume_mount_group("staff");
  grpc::ClientContext ctx;
  EXPECT_EQ(node_->NodePublishVolume(&ctx, req, &resp).error_code(), StatusCode::INVALID_ARGUMENT);
}

TEST_F(NodeServiceTest, FailedMountLeavesNothingBehind) {
  std::string id = MustCreate("fails");
  mounter_.next_mount_error = core::Status::Unavailable("fuse: device not found");
  grpc::Status st = Publish(id, Target());
  EXPECT_EQ(st.error_code(), StatusCode::UNAVAILABLE);
  EXPECT_NE(st.error_message().find("fuse: device not found"), std::string::npos);
  EXPECT_NE(st.error_message().find("main/fails"), std::string::npos);
  EXPECT_FALSE(Exists(Target()));
  ASSERT_TRUE(Publish(id, Target()).ok());
}

TEST_F(NodeServiceTest, UnpublishValidatesArguments) {
  EXPECT_EQ(Unpublish("", Target()).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Unpublish("main/v", "").error_code(), StatusCode::INVALID_ARGUMENT);
}

TEST_F(NodeServiceTest, FailedFinalCommitIsSurfacedThenCleanedUp) {
  std::string id = MustCreate("flaky");
  ASSERT_TRUE(Publish(id, Target()).ok());
  mounter_.next_final_commit_error = core::Status::Unavailable("store unreachable");
  grpc::Status st = Unpublish(id, Target());
  EXPECT_EQ(st.error_code(), StatusCode::UNAVAILABLE);
  EXPECT_NE(st.error_message().find("kept"), std::string::npos);
  EXPECT_NE(st.error_message().find("main/flaky"), std::string::npos);
  // kubelet retries; the mount is already down, so the retry succeeds.
  ASSERT_TRUE(Unpublish(id, Target()).ok());
  EXPECT_FALSE(Exists(Target()));
}

TEST_F(NodeServiceTest, VolumeStats) {
  grpc::Status st;
  Stats("", "some/path", &st);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  Stats("main/v", "", &st);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  Stats("fake-vol-id-9", "some/path", &st);
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);

  std::string id = MustCreate("stats");
  ASSERT_TRUE(Publish(id, Target()).ok());
  Stats(id, "some/path", &st);
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
  auto resp = Stats(id, Target(), &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.usage_size(), 2);
  EXPECT_EQ(resp.usage(0).unit(), v1::VolumeUsage::BYTES);
  EXPECT_EQ(resp.usage(0).used(), 400);
  EXPECT_EQ(resp.usage(1).unit(), v1::VolumeUsage::INODES);
  EXPECT_EQ(resp.usage(1).total(), 10'000'000);
  EXPECT_FALSE(resp.volume_condition().abnormal());

  mounter_.Kill(Target());
  resp = Stats(id, Target(), &st);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(resp.volume_condition().abnormal());
  EXPECT_NE(resp.volume_condition().message().find("gone"), std::string::npos);
}

TEST_F(NodeServiceTest, RepublishReplacesADeadMountServer) {
  std::string id = MustCreate("phoenix");
  ASSERT_TRUE(Publish(id, Target()).ok());
  mounter_.Kill(Target());
  ASSERT_TRUE(Publish(id, Target()).ok());
  EXPECT_EQ(mounter_.mount_calls, 2);
  auto state = mounter_.Inspect(Target());
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->healthy);
}

TEST_F(NodeServiceTest, RestartedDriverFindsAndUnpublishesLiveMounts) {
  std::string id = MustCreate("survivor");
  ASSERT_TRUE(Publish(id, Target()).ok());
  int recovers = mounter_.recover_calls;
  StartServer();  // the driver process restarts; the mount server does not
  EXPECT_EQ(mounter_.recover_calls, recovers + 1);
  EXPECT_TRUE(mounter_.IsMounted(Target()));
  ASSERT_TRUE(Publish(id, Target()).ok());  // kubelet's repeat is idempotent
  EXPECT_EQ(mounter_.mount_calls, 1);
  grpc::Status st;
  Stats(id, Target(), &st);
  EXPECT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(Unpublish(id, Target()).ok());
  EXPECT_FALSE(mounter_.IsMounted(Target()));
  EXPECT_FALSE(Exists(Target()));
}

TEST_F(NodeServiceTest, StagingIsNotImplemented) {
  v1::NodeStageVolumeRequest req;
  v1::NodeStageVolumeResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(node_->NodeStageVolume(&ctx, req, &resp).error_code(), StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace snapvol::csi
