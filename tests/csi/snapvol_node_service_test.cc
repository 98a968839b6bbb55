#include "driver/csi/snapvol_node_service.h"

#include "tests/csi/csi_harness.h"

namespace snapvol::csi {
namespace {

using grpc::StatusCode;
namespace sv = ::snapvol::v1;

class SnapvolNodeServiceTest : public CsiHarness {
 protected:
  std::string target() { return pods_dir() + "/t"; }
};

TEST_F(SnapvolNodeServiceTest, CommitReloadStatusByTargetPath) {
  std::string id = MustCreate("ops");
  ASSERT_TRUE(Publish(id, target()).ok());

  sv::CommitRequest commit;
  commit.set_target_path(target());
  sv::CommitResponse committed;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(snapvol_->Commit(&ctx, commit, &committed).ok());
  }
  EXPECT_TRUE(committed.empty());
  mounter_.AddPending(target());
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(snapvol_->Commit(&ctx, commit, &committed).ok());
  }
  EXPECT_FALSE(committed.empty());
  EXPECT_EQ(committed.version(), 2u);

  sv::ReloadRequest reload;
  reload.set_target_path(target());
  sv::ReloadResponse reloaded;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(snapvol_->Reload(&ctx, reload, &reloaded).ok());
  }
  EXPECT_EQ(reloaded.version(), 7u);

  sv::StatusRequest status;
  status.set_target_path(target());
  sv::StatusResponse st;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(snapvol_->Status(&ctx, status, &st).ok());
  }
  EXPECT_EQ(st.volume_id(), "main/ops");
  EXPECT_EQ(st.volume(), "ops");
  EXPECT_TRUE(st.healthy());
  EXPECT_EQ(st.base_version(), 7u);
  EXPECT_EQ(st.pid(), 4242);

  mounter_.Kill(target());
  grpc::ClientContext ctx;
  ASSERT_TRUE(snapvol_->Status(&ctx, status, &st).ok());
  EXPECT_FALSE(st.healthy());
}

TEST_F(SnapvolNodeServiceTest, UnknownTargetsAreNotFound) {
  sv::CommitRequest commit;
  sv::CommitResponse resp;
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(snapvol_->Commit(&ctx, commit, &resp).error_code(), StatusCode::INVALID_ARGUMENT);
  }
  commit.set_target_path("/nowhere");
  grpc::ClientContext ctx;
  grpc::Status st = snapvol_->Commit(&ctx, commit, &resp);
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("/nowhere"), std::string::npos);
}

TEST_F(SnapvolNodeServiceTest, ReadOnlyAndPinnedMountsRefuse) {
  std::string id = MustCreate("ro");
  ASSERT_TRUE(Publish(id, target(), {}, /*readonly=*/true).ok());
  sv::CommitRequest commit;
  commit.set_target_path(target());
  sv::CommitResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(snapvol_->Commit(&ctx, commit, &resp).error_code(), StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace snapvol::csi
