// Controller service through the real gRPC server, mirroring what csi-sanity
// (kubernetes-csi/csi-test pkg/sanity) checks for the capabilities snapvol
// advertises, plus snapvol's own rules (environments, restore, pins).
#include "driver/csi/controller_service.h"

#include <set>

#include "driver/csi/volume_id.h"
#include "tests/csi/csi_harness.h"
#include "tests/volume/content_helpers.h"

namespace snapvol::csi {
namespace {

namespace v1 = ::csi::v1;
using grpc::StatusCode;
using volume::testing::PutFile;
using volume::testing::ReadPath;

class ControllerServiceTest : public CsiHarness {
 protected:
  // Commits one file into an existing volume.
  void Write(const std::string& env, const std::string& name, const std::string& path,
             const std::string& data) {
    auto vol = engine_->GetVolume(env, name);
    ASSERT_TRUE(vol.ok()) << vol.status().ToString();
    volume::ChangeSet cs;
    PutFile(&cs, engine_->objects(), path, data);
    auto r = engine_->Commit(*vol, cs, {});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  std::optional<std::string> Read(const std::string& env, const std::string& name,
                                  const std::string& path) {
    auto vol = engine_->GetVolume(env, name);
    EXPECT_TRUE(vol.ok()) << vol.status().ToString();
    if (!vol.ok()) return std::nullopt;
    auto head = engine_->Head(*vol);
    EXPECT_TRUE(head.ok());
    return ReadPath(*engine_, *head, path);
  }

  v1::CreateSnapshotResponse Snapshot(const std::string& name, const std::string& source,
                                      grpc::Status* status) {
    v1::CreateSnapshotRequest req;
    req.set_name(name);
    req.set_source_volume_id(source);
    v1::CreateSnapshotResponse resp;
    grpc::ClientContext ctx;
    *status = controller_->CreateSnapshot(&ctx, req, &resp);
    return resp;
  }

  std::string MustSnapshot(const std::string& name, const std::string& source) {
    grpc::Status st;
    auto resp = Snapshot(name, source, &st);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.snapshot().snapshot_id();
  }

  grpc::Status CreateFrom(const std::string& name, const v1::VolumeContentSource& source,
                          v1::CreateVolumeResponse* resp) {
    v1::CreateVolumeRequest req;
    req.set_name(name);
    *req.add_volume_capabilities() = MountCap();
    *req.mutable_volume_content_source() = source;
    grpc::ClientContext ctx;
    return controller_->CreateVolume(&ctx, req, resp);
  }

  static v1::VolumeContentSource FromSnapshot(const std::string& id) {
    v1::VolumeContentSource s;
    s.mutable_snapshot()->set_snapshot_id(id);
    return s;
  }
  static v1::VolumeContentSource FromVolume(const std::string& id) {
    v1::VolumeContentSource s;
    s.mutable_volume()->set_volume_id(id);
    return s;
  }

  v1::ListVolumesResponse ListVolumes(int32_t max, const std::string& token, grpc::Status* st) {
    v1::ListVolumesRequest req;
    req.set_max_entries(max);
    req.set_starting_token(token);
    v1::ListVolumesResponse resp;
    grpc::ClientContext ctx;
    *st = controller_->ListVolumes(&ctx, req, &resp);
    return resp;
  }

  v1::ListSnapshotsResponse ListSnapshots(v1::ListSnapshotsRequest req, grpc::Status* st) {
    v1::ListSnapshotsResponse resp;
    grpc::ClientContext ctx;
    *st = controller_->ListSnapshots(&ctx, req, &resp);
    return resp;
  }

  grpc::Status DeleteVolume(const std::string& id) {
    v1::DeleteVolumeRequest req;
    req.set_volume_id(id);
    v1::DeleteVolumeResponse resp;
    grpc::ClientContext ctx;
    return controller_->DeleteVolume(&ctx, req, &resp);
  }

  grpc::Status DeleteSnapshot(const std::string& id) {
    v1::DeleteSnapshotRequest req;
    req.set_snapshot_id(id);
    v1::DeleteSnapshotResponse resp;
    grpc::ClientContext ctx;
    return controller_->DeleteSnapshot(&ctx, req, &resp);
  }
};

// ---- ControllerGetCapabilities

TEST_F(ControllerServiceTest, AdvertisesWhatItImplements) {
  grpc::ClientContext ctx;
  v1::ControllerGetCapabilitiesResponse resp;
  ASSERT_TRUE(controller_->ControllerGetCapabilities(&ctx, {}, &resp).ok());
  std::set<int> types;
  for (const auto& c : resp.capabilities()) types.insert(c.rpc().type());
  using Rpc = v1::ControllerServiceCapability::RPC;
  EXPECT_EQ(types,
            (std::set<int>{Rpc::CREATE_DELETE_VOLUME, Rpc::LIST_VOLUMES,
                           Rpc::CREATE_DELETE_SNAPSHOT, Rpc::LIST_SNAPSHOTS, Rpc::CLONE_VOLUME,
                           Rpc::GET_VOLUME, Rpc::SINGLE_NODE_MULTI_WRITER}));
}

TEST_F(ControllerServiceTest, UnadvertisedRpcsAreUnimplemented) {
  grpc::ClientContext ctx;
  v1::ControllerPublishVolumeRequest req;
  req.set_volume_id("main/x");
  v1::ControllerPublishVolumeResponse resp;
  EXPECT_EQ(controller_->ControllerPublishVolume(&ctx, req, &resp).error_code(),
            StatusCode::UNIMPLEMENTED);
}

// ---- CreateVolume

TEST_F(ControllerServiceTest, CreateVolumeValidatesArguments) {
  grpc::Status st;
  Create("", &st);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);

  v1::CreateVolumeRequest req;
  req.set_name("no-caps");
  v1::CreateVolumeResponse resp;
  {
    grpc::ClientContext ctx;
    st = controller_->CreateVolume(&ctx, req, &resp);
  }
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("no-caps"), std::string::npos);

  auto* cap = req.add_volume_capabilities();
  cap->mutable_block();
  cap->mutable_access_mode()->set_mode(v1::VolumeCapability::AccessMode::SINGLE_NODE_WRITER);
  {
    grpc::ClientContext ctx;
    st = controller_->CreateVolume(&ctx, req, &resp);
  }
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("block"), std::string::npos);

  cap->mutable_mount();
  cap->clear_access_mode();
  {
    grpc::ClientContext ctx;
    st = controller_->CreateVolume(&ctx, req, &resp);
  }
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);

  Create("bad-param", &st, 0, {{"colour", "blue"}});
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("colour"), std::string::npos);
}

TEST_F(ControllerServiceTest, CreateVolumeReturnsIdCapacityAndContext) {
  grpc::Status st;
  auto resp = Create("pvc-1", &st, 1 << 30);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.volume().volume_id(), "main/pvc-1");
  EXPECT_EQ(resp.volume().capacity_bytes(), 1 << 30);
  EXPECT_EQ(resp.volume().volume_context().at("name"), "pvc-1");
  EXPECT_EQ(resp.volume().volume_context().at("environment"), "main");
  EXPECT_TRUE(engine_->GetVolume("main", "pvc-1").ok());
}

TEST_F(ControllerServiceTest, CreateVolumeIsIdempotentByName) {
  grpc::Status st;
  auto a = Create("twice", &st, 1000);
  ASSERT_TRUE(st.ok());
  auto b = Create("twice", &st, 1000);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(a.volume().volume_id(), b.volume().volume_id());
  auto vols = engine_->ListVolumes("main");
  ASSERT_TRUE(vols.ok());
  EXPECT_EQ(vols->size(), 1u);
}

TEST_F(ControllerServiceTest, IncompatibleRecreateIsAlreadyExists) {
  grpc::Status st;
  Create("twice-different", &st, 1000);
  ASSERT_TRUE(st.ok());
  Create("twice-different", &st, 2000);
  EXPECT_EQ(st.error_code(), StatusCode::ALREADY_EXISTS);
  EXPECT_NE(st.error_message().find("twice-different"), std::string::npos);
}

TEST_F(ControllerServiceTest, MaximumLengthNamesWork) {
  std::string name(128, 'x');
  name.replace(0, 8, "sanity-m");
  grpc::Status st;
  auto a = Create(name, &st, 1000);
  ASSERT_TRUE(st.ok()) << st.error_message();
  auto b = Create(name, &st, 1000);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(a.volume().volume_id(), b.volume().volume_id());
  EXPECT_TRUE(VolumeId::Parse(a.volume().volume_id()));
}

TEST_F(ControllerServiceTest, CapacityRangeIsChecked) {
  v1::CreateVolumeRequest req;
  req.set_name("cap");
  *req.add_volume_capabilities() = MountCap();
  req.mutable_capacity_range()->set_required_bytes(2000);
  req.mutable_capacity_range()->set_limit_bytes(1000);
  v1::CreateVolumeResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(controller_->CreateVolume(&ctx, req, &resp).error_code(), StatusCode::INVALID_ARGUMENT);
}

TEST_F(ControllerServiceTest, EnvironmentParameters) {
  grpc::Status st;
  auto a = Create("data", &st, 0, {{"environment", "dev"}});
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(a.volume().volume_id(), "dev/data");
  auto b = Create("data", &st, 0,
                  {{"environmentFromNamespace", "true"},
                   {"csi.storage.k8s.io/pvc/namespace", "team-a"},
                   {"csi.storage.k8s.io/pvc/name", "claim"},
                   {"csi.storage.k8s.io/pv/name", "data"}});
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(b.volume().volume_id(), "team-a/data");
  EXPECT_TRUE(engine_->GetVolume("team-a", "data").ok());
  EXPECT_FALSE(engine_->GetVolume("main", "data").ok());
  Create("data2", &st, 0, {{"environmentFromNamespace", "true"}});
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
}

TEST_F(ControllerServiceTest, StorageClassCommitIntervalReachesTheVolumeContext) {
  grpc::Status st;
  auto a = Create("ci", &st, 0, {{"commitInterval", "30s"}, {"inodeLimit", "5000"}});
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(a.volume().volume_context().at("commitInterval"), "30s");
  auto vol = engine_->GetVolume("main", "ci");
  ASSERT_TRUE(vol.ok());
  EXPECT_EQ(vol->inode_limit, 5000u);
}

TEST_F(ControllerServiceTest, VolumesMadeByTheCliAreAdopted) {
  ASSERT_TRUE(engine_->CreateVolume("main", "weights", {}).ok());
  Write("main", "weights", "/w.bin", "weights");
  grpc::Status st;
  auto resp = Create("weights", &st, 100);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.volume().volume_id(), "main/weights");
  EXPECT_EQ(Read("main", "weights", "/w.bin"), "weights");
}

// ---- content sources

TEST_F(ControllerServiceTest, RestoreFromSnapshotShowsThePinnedVersion) {
  std::string src = MustCreate("src");
  Write("main", "src", "/a/one.txt", "one");
  Write("main", "src", "/two.txt", "two");
  std::string snap = MustSnapshot("snap-1", src);
  Write("main", "src", "/a/one.txt", "changed later");
  Write("main", "src", "/three.txt", "three");

  v1::CreateVolumeResponse resp;
  grpc::Status st = CreateFrom("restored", FromSnapshot(snap), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.volume().content_source().snapshot().snapshot_id(), snap);
  EXPECT_EQ(Read("main", "restored", "/a/one.txt"), "one");
  EXPECT_EQ(Read("main", "restored", "/two.txt"), "two");
  EXPECT_EQ(Read("main", "restored", "/three.txt"), std::nullopt);
  // The source is untouched and the restore is repeatable.
  EXPECT_EQ(Read("main", "src", "/a/one.txt"), "changed later");
  st = CreateFrom("restored", FromSnapshot(snap), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  auto vol = engine_->GetVolume("main", "restored");
  ASSERT_TRUE(vol.ok());
  EXPECT_EQ(engine_->Head(*vol)->version, 1u);
  // O(1): version 1 names the snapshot's own root tree; nothing was copied.
  auto src_vol = engine_->GetVolume("main", "src");
  ASSERT_TRUE(src_vol.ok());
  auto pinned = engine_->AtVersion(*src_vol, 2);
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(engine_->Head(*vol)->root().SerializeAsString(), pinned->root().SerializeAsString());
  EXPECT_EQ(engine_->Head(*vol)->commit.message(), "restore from snapshot:" + snap);
  // Another source under the same name is a different request.
  st = CreateFrom("restored", FromVolume(src), &resp);
  EXPECT_EQ(st.error_code(), StatusCode::ALREADY_EXISTS);
}

TEST_F(ControllerServiceTest, SnapshotsOutliveTheirSourceVolume) {
  std::string src = MustCreate("short-lived");
  Write("main", "short-lived", "/keep.txt", "kept");
  std::string snap = MustSnapshot("keeper", src);
  ASSERT_TRUE(DeleteVolume(src).ok());
  v1::CreateVolumeResponse resp;
  grpc::Status st = CreateFrom("revived", FromSnapshot(snap), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(Read("main", "revived", "/keep.txt"), "kept");
}

TEST_F(ControllerServiceTest, TaglessSnapshotIdsNameAVersionDirectly) {
  MustCreate("history");
  Write("main", "history", "/f", "v1");
  Write("main", "history", "/f", "v2");
  v1::CreateVolumeResponse resp;
  grpc::Status st = CreateFrom("from-v1", FromSnapshot("main/history@1"), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(Read("main", "from-v1", "/f"), "v1");
  st = CreateFrom("from-v9", FromSnapshot("main/history@9"), &resp);
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
}

TEST_F(ControllerServiceTest, SnapshotOfAnEmptyVolumeRestoresEmpty) {
  std::string src = MustCreate("empty");
  std::string snap = MustSnapshot("empty-snap", src);
  v1::CreateVolumeResponse resp;
  ASSERT_TRUE(CreateFrom("from-empty", FromSnapshot(snap), &resp).ok());
  auto vol = engine_->GetVolume("main", "from-empty");
  ASSERT_TRUE(vol.ok());
  EXPECT_EQ(engine_->Head(*vol)->version, 0u);
}

TEST_F(ControllerServiceTest, CloneFromVolume) {
  std::string src = MustCreate("origin");
  Write("main", "origin", "/d/x", "x");
  v1::CreateVolumeResponse resp;
  grpc::Status st = CreateFrom("clone", FromVolume(src), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(Read("main", "clone", "/d/x"), "x");
  Write("main", "clone", "/d/x", "clone only");
  EXPECT_EQ(Read("main", "origin", "/d/x"), "x");
}

TEST_F(ControllerServiceTest, MissingSourcesAreNotFound) {
  v1::CreateVolumeResponse resp;
  grpc::Status st = CreateFrom("a", FromSnapshot("non-existing-snapshot-id"), &resp);
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("non-existing-snapshot-id"), std::string::npos);
  st = CreateFrom("b", FromVolume("fake-vol-id-123"), &resp);
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
  st = CreateFrom("c", FromVolume("main/absent"), &resp);
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
  EXPECT_FALSE(engine_->GetVolume("main", "a").ok());  // nothing half-made
}

// ---- DeleteVolume

TEST_F(ControllerServiceTest, DeleteVolume) {
  EXPECT_EQ(DeleteVolume("").error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(DeleteVolume("fake-vol-id").ok());
  EXPECT_TRUE(DeleteVolume("main/never-existed").ok());
  std::string id = MustCreate("doomed");
  EXPECT_TRUE(DeleteVolume(id).ok());
  EXPECT_FALSE(engine_->GetVolume("main", "doomed").ok());
  EXPECT_TRUE(DeleteVolume(id).ok());
  // Re-creating after delete is a new volume without the old record.
  grpc::Status st;
  Create("doomed", &st, 5);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

// ---- ValidateVolumeCapabilities

TEST_F(ControllerServiceTest, ValidateVolumeCapabilities) {
  std::string id = MustCreate("validate");
  auto call = [&](const std::string& vid, std::vector<v1::VolumeCapability> caps,
                  v1::ValidateVolumeCapabilitiesResponse* resp) {
    v1::ValidateVolumeCapabilitiesRequest req;
    req.set_volume_id(vid);
    for (auto& c : caps) *req.add_volume_capabilities() = c;
    grpc::ClientContext ctx;
    return controller_->ValidateVolumeCapabilities(&ctx, req, resp);
  };
  v1::ValidateVolumeCapabilitiesResponse resp;
  EXPECT_EQ(call("", {MountCap()}, &resp).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(call(id, {}, &resp).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(call("main/nope", {MountCap()}, &resp).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(call("fake-vol-id-1", {MountCap()}, &resp).error_code(), StatusCode::NOT_FOUND);
  ASSERT_TRUE(
      call(id, {MountCap(v1::VolumeCapability::AccessMode::MULTI_NODE_MULTI_WRITER)}, &resp).ok());
  EXPECT_EQ(resp.confirmed().volume_capabilities_size(), 1);
  v1::VolumeCapability block;
  block.mutable_block();
  block.mutable_access_mode()->set_mode(v1::VolumeCapability::AccessMode::SINGLE_NODE_WRITER);
  v1::ValidateVolumeCapabilitiesResponse unsupported;
  ASSERT_TRUE(call(id, {block}, &unsupported).ok());
  EXPECT_FALSE(unsupported.has_confirmed());
  EXPECT_NE(unsupported.message().find("block"), std::string::npos);
}

// ---- ListVolumes

TEST_F(ControllerServiceTest, ListVolumesSeesCreatesAndDeletes) {
  grpc::Status st;
  size_t before = ListVolumes(0, "", &st).entries_size();
  ASSERT_TRUE(st.ok());
  std::string id = MustCreate("sanity");
  auto after = ListVolumes(0, "", &st);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(static_cast<size_t>(after.entries_size()), before + 1);
  EXPECT_TRUE(after.next_token().empty());
  ASSERT_TRUE(DeleteVolume(id).ok());
  EXPECT_EQ(static_cast<size_t>(ListVolumes(0, "", &st).entries_size()), before);
}

TEST_F(ControllerServiceTest, ListVolumesPaginates) {
  for (const char* n : {"v1", "v2", "v3", "v4", "v5"}) MustCreate(n);
  ASSERT_TRUE(engine_->CreateEnvironment("dev").ok());
  ASSERT_TRUE(engine_->CreateVolume("dev", "other", {}).ok());
  std::vector<std::string> seen;
  std::string token;
  grpc::Status st;
  int pages = 0;
  do {
    auto page = ListVolumes(2, token, &st);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_LE(page.entries_size(), 2);
    for (const auto& e : page.entries()) seen.push_back(e.volume().volume_id());
    token = page.next_token();
    pages++;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, (std::vector<std::string>{"dev/other", "main/v1", "main/v2", "main/v3", "main/v4",
                                            "main/v5"}));
  // A token stays valid when the last volume of its page is deleted.
  auto first = ListVolumes(2, "", &st);
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(DeleteVolume(first.next_token()).ok());
  auto rest = ListVolumes(0, first.next_token(), &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(rest.entries_size(), 4);
}

TEST_F(ControllerServiceTest, ListVolumesRejectsForeignTokens) {
  grpc::Status st;
  auto resp = ListVolumes(0, "invalid-token", &st);
  EXPECT_EQ(st.error_code(), StatusCode::ABORTED);
  ListVolumes(-1, "", &st);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
}

TEST_F(ControllerServiceTest, ControllerGetVolume) {
  std::string id = MustCreate("gettable");
  v1::ControllerGetVolumeRequest req;
  req.set_volume_id(id);
  v1::ControllerGetVolumeResponse resp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(controller_->ControllerGetVolume(&ctx, req, &resp).ok());
  }
  EXPECT_EQ(resp.volume().volume_id(), id);
  req.set_volume_id("main/absent");
  grpc::ClientContext ctx;
  EXPECT_EQ(controller_->ControllerGetVolume(&ctx, req, &resp).error_code(), StatusCode::NOT_FOUND);
}

// ---- snapshots

TEST_F(ControllerServiceTest, CreateSnapshotValidatesArguments) {
  grpc::Status st;
  Snapshot("", "testId", &st);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  Snapshot("name", "", &st);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  Snapshot("name", "main/absent", &st);
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("main/absent"), std::string::npos);
}

TEST_F(ControllerServiceTest, CreateSnapshotIsIdempotentByNameAndSource) {
  std::string a = MustCreate("snap-src-a");
  std::string b = MustCreate("snap-src-b");
  Write("main", "snap-src-a", "/f", "data");
  grpc::Status st;
  auto first = Snapshot("s", a, &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(first.snapshot().ready_to_use());
  EXPECT_EQ(first.snapshot().source_volume_id(), a);
  EXPECT_EQ(first.snapshot().size_bytes(), 4);
  EXPECT_GT(first.snapshot().creation_time().seconds(), 0);
  Write("main", "snap-src-a", "/g", "more");  // a repeat still answers the first pin
  auto again = Snapshot("s", a, &st);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(again.snapshot().snapshot_id(), first.snapshot().snapshot_id());
  Snapshot("s", b, &st);
  EXPECT_EQ(st.error_code(), StatusCode::ALREADY_EXISTS);
  std::string longname(128, 's');
  auto l1 = Snapshot(longname, a, &st);
  ASSERT_TRUE(st.ok());
  auto l2 = Snapshot(longname, a, &st);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(l1.snapshot().snapshot_id(), l2.snapshot().snapshot_id());
}

TEST_F(ControllerServiceTest, ListSnapshotsFiltersAndPaginates) {
  std::vector<std::string> ids;
  std::vector<std::string> sources;
  for (int i = 0; i < 5; i++) {
    sources.push_back(MustCreate("lsv-" + std::to_string(i)));
    ids.push_back(MustSnapshot("lss-" + std::to_string(i), sources.back()));
  }
  grpc::Status st;
  v1::ListSnapshotsRequest all;
  EXPECT_EQ(ListSnapshots(all, &st).entries_size(), 5);

  v1::ListSnapshotsRequest by_id;
  by_id.set_snapshot_id(ids[2]);
  auto one = ListSnapshots(by_id, &st);
  ASSERT_EQ(one.entries_size(), 1);
  EXPECT_EQ(one.entries(0).snapshot().snapshot_id(), ids[2]);
  by_id.set_snapshot_id("none-exist-id");
  EXPECT_EQ(ListSnapshots(by_id, &st).entries_size(), 0);
  EXPECT_TRUE(st.ok());

  v1::ListSnapshotsRequest by_source;
  by_source.set_source_volume_id(sources[3]);
  auto of3 = ListSnapshots(by_source, &st);
  ASSERT_EQ(of3.entries_size(), 1);
  EXPECT_EQ(of3.entries(0).snapshot().source_volume_id(), sources[3]);
  by_source.set_source_volume_id("fake-vol-id-42");
  EXPECT_EQ(ListSnapshots(by_source, &st).entries_size(), 0);
  EXPECT_TRUE(st.ok());

  v1::ListSnapshotsRequest page;
  page.set_max_entries(2);
  auto p1 = ListSnapshots(page, &st);
  ASSERT_EQ(p1.entries_size(), 2);
  ASSERT_FALSE(p1.next_token().empty());
  v1::ListSnapshotsRequest rest;
  rest.set_starting_token(p1.next_token());
  EXPECT_EQ(ListSnapshots(rest, &st).entries_size(), 3);

  v1::ListSnapshotsRequest bad;
  bad.set_starting_token("invalid-token");
  ListSnapshots(bad, &st);
  EXPECT_EQ(st.error_code(), StatusCode::ABORTED);
}

TEST_F(ControllerServiceTest, DeleteSnapshot) {
  EXPECT_EQ(DeleteSnapshot("").error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(DeleteSnapshot("reallyfakesnapshotid").ok());
  std::string src = MustCreate("del-snap-src");
  std::string id = MustSnapshot("del-snap", src);
  grpc::Status st;
  v1::ListSnapshotsRequest all;
  EXPECT_EQ(ListSnapshots(all, &st).entries_size(), 1);
  EXPECT_TRUE(DeleteSnapshot(id).ok());
  EXPECT_TRUE(DeleteSnapshot(id).ok());
  EXPECT_EQ(ListSnapshots(all, &st).entries_size(), 0);
  v1::CreateVolumeResponse resp;
  EXPECT_EQ(CreateFrom("from-deleted", FromSnapshot(id), &resp).error_code(),
            StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace snapvol::csi
