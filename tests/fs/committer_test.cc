#include "driver/fs/committer.h"

#include <gtest/gtest.h>

#include "tests/fs/view_fixture.h"

namespace snapvol::fs {
namespace {

using testing::ViewFixture;
using CommitterTest = ViewFixture;
using volume::ChangeOp;

std::vector<std::string> Describe(const CommitPlan& plan) {
  std::vector<std::string> out;
  for (const CommitPlan::Op& op : plan.ops) {
    std::string kind;
    switch (op.op.kind) {
      case ChangeOp::Kind::kPut:
        kind = "put";
        break;
      case ChangeOp::Kind::kMkdir:
        kind = op.op.set_xattrs ? "mkdir+xattrs" : "mkdir";
        break;
      case ChangeOp::Kind::kDelete:
        kind = "delete";
        break;
      case ChangeOp::Kind::kSetAttr:
        kind = "setattr";
        break;
      default:
        kind = "other";
    }
    out.push_back(kind + " " + core::JoinVolumePath(op.op.path));
  }
  return out;
}

TEST_F(CommitterTest, PlansTheStateOfEveryChangedPathParentsFirst) {
  Seed({{"gone", "G"}, {"kept", "K"}});
  MountServer& s = Server();
  View& v = s.view();
  auto d = v.Mkdir(kRootIno, "d", 0755, Cred());
  ASSERT_TRUE(d.ok());
  Create(v, d->ino, "f", "F");
  ASSERT_TRUE(v.Unlink(kRootIno, "gone", Cred()).ok());
  SetAttrIn chmod;
  chmod.mode = 0600;
  ASSERT_TRUE(v.SetAttr(Find(v, kRootIno, "kept"), chmod, Cred()).ok());
  auto plan = s.committer().Plan(false);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Describe(*plan),
            (std::vector<std::string>{"mkdir /d", "put /d/f", "delete /gone", "setattr /kept"}));
  // The new file's content is read from its upper file when the commit runs.
  ASSERT_NE(plan->ops[1].upper, nullptr);
  ASSERT_TRUE(s.committer().Finish(*plan, false, {}).ok());
  EXPECT_EQ(v.PendingCount(), 4u);  // nothing landed
}

TEST_F(CommitterTest, CommitLandsAndSettlesWhatItPublished) {
  MountServer& s = Server();
  View& v = s.view();
  Create(v, kRootIno, "f", "data");
  volume::CommitOptions opts;
  auto out = s.committer().Commit(Volume(), CommitTrigger::kExplicit, opts);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->changes, 1u);
  EXPECT_EQ(out->deferred, 0u);
  EXPECT_FALSE(out->result.empty);
  EXPECT_EQ(v.PendingCount(), 0u);
  auto e = HeadEntry("/f");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->size(), 4u);
}

// A change made between plan and finish stays pending for the next commit.
TEST_F(CommitterTest, ChangeWhileTheCommitRunsStaysPending) {
  MountServer& s = Server();
  View& v = s.view();
  const Ino f = Create(v, kRootIno, "f", "one");
  s.committer().SetAfterPlanHookForTest([&] {
    SetAttrIn chmod;
    chmod.mode = 0600;
    ASSERT_TRUE(v.SetAttr(f, chmod, Cred()).ok());
  });
  ASSERT_TRUE(s.committer().Commit(Volume(), CommitTrigger::kExplicit, {}).ok());
  EXPECT_EQ(v.PendingCount(), 1u);
  s.committer().SetAfterPlanHookForTest(nullptr);
  ASSERT_TRUE(s.committer().Commit(Volume(), CommitTrigger::kExplicit, {}).ok());
  EXPECT_EQ(v.PendingCount(), 0u);
  EXPECT_EQ(HeadEntry("/f")->mode() & 07777, 0600u);
}

// Background commits leave files open for writing to a later commit.
TEST_F(CommitterTest, BackgroundCommitDefersFilesOpenForWriting) {
  MountServer& s = Server();
  View& v = s.view();
  auto made = v.Create(kRootIno, "log", 0644, O_WRONLY | O_CREAT, Cred());
  ASSERT_TRUE(made.ok());
  auto out = s.committer().Commit(Volume(), CommitTrigger::kBackground, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->deferred, 1u);
  EXPECT_FALSE(HeadEntry("/log"));
  EXPECT_EQ(v.PendingCount(), 1u);
  // The final commit takes it.
  out = s.committer().Commit(Volume(), CommitTrigger::kFinal, {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->deferred, 0u);
  EXPECT_TRUE(HeadEntry("/log"));
  v.Release(made->second.handle);
}

// The root has no name: its attributes are a SetAttr, its xattrs a Mkdir of
// the root with the whole set.
TEST_F(CommitterTest, RootChangesArePlannedAtTheEmptyPath) {
  MountServer& s = Server();
  View& v = s.view();
  SetAttrIn chmod;
  chmod.mode = 0700;
  ASSERT_TRUE(v.SetAttr(kRootIno, chmod, Cred()).ok());
  auto plan = s.committer().Plan(false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Describe(*plan), std::vector<std::string>{"setattr /"});
  ASSERT_TRUE(s.committer().Finish(*plan, true, {}).ok());
  ASSERT_TRUE(v.SetXattr(kRootIno, "user.x", "1", 0, Cred()).ok());
  plan = s.committer().Plan(false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Describe(*plan), std::vector<std::string>{"mkdir+xattrs /"});
  ASSERT_TRUE(s.committer().Finish(*plan, false, {}).ok());
}

TEST(CommitTriggerTest, Names) {
  EXPECT_STREQ(CommitTriggerName(CommitTrigger::kExplicit), "explicit");
  EXPECT_STREQ(CommitTriggerName(CommitTrigger::kBackground), "background");
  EXPECT_STREQ(CommitTriggerName(CommitTrigger::kFinal), "final");
}

}  // namespace
}  // namespace snapvol::fs
