#include "driver/fs/journal_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "driver/fs/state_layout.h"

namespace snapvol::fs {
namespace {

class JournalWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("snapvol-jw-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto j = Journal::Open(dir_.string(), 1);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);
    root_.ino = kRootIno;
    root_.type = NodeType::kDir;
    root_.dir = std::make_unique<DirState>();
    d_.ino = 2;
    d_.type = NodeType::kDir;
    d_.dir = std::make_unique<DirState>();
    AddName(&d_, &root_, "d");
  }
  void TearDown() override {
    journal_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::vector<mount::JournalRecord> Records() {
    auto c = ReadJournalFile(MountDirLayout(dir_.string()).JournalFile(journal_->gen()));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? c->records : std::vector<mount::JournalRecord>();
  }

  std::filesystem::path dir_;
  std::unique_ptr<Journal> journal_;
  Node root_, d_;
};

// A node is recorded at every name; a directory as a MKDIR without its
// tree, flagged when its xattrs changed; the root at the empty path.
TEST_F(JournalWriterTest, PutNamesEveryPathOfTheNode) {
  JournalWriter w(journal_.get());
  Node f;
  f.ino = 3;
  f.entry = std::make_unique<objects::Entry>();
  AddName(&f, &d_, "a");
  AddName(&f, &root_, "b");
  ASSERT_TRUE(w.Put(&f).ok());
  d_.xattrs_changed = true;
  d_.entry = std::make_unique<objects::Entry>();
  d_.dir->tree = core::Hash();
  ASSERT_TRUE(w.Put(&d_).ok());
  root_.xattrs_changed = true;
  root_.entry = std::make_unique<objects::Entry>();
  ASSERT_TRUE(w.Put(&root_).ok());
  auto recs = Records();
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0].op(), mount::JournalRecord::PUT);
  EXPECT_EQ(recs[0].path_size(), 2);
  EXPECT_EQ(recs[1].path(0), "b");
  EXPECT_EQ(recs[2].op(), mount::JournalRecord::MKDIR);
  EXPECT_TRUE(recs[2].xattrs());
  EXPECT_TRUE(recs[2].entry().tree().empty());
  EXPECT_EQ(recs[3].op(), mount::JournalRecord::MKDIR);
  EXPECT_EQ(recs[3].path_size(), 0);
}

// Record marks the generation; RecordOnce writes a node's content only once
// per generation.
TEST_F(JournalWriterTest, RecordOncePerGeneration) {
  JournalWriter w(journal_.get());
  Node f;
  f.ino = 3;
  f.entry = std::make_unique<objects::Entry>();
  AddName(&f, &d_, "f");
  ASSERT_TRUE(w.RecordOnce(&f).ok());
  ASSERT_TRUE(w.RecordOnce(&f).ok());
  EXPECT_EQ(f.journaled_gen, journal_->gen());
  EXPECT_EQ(Records().size(), 1u);
  ASSERT_TRUE(journal_->Rotate().ok());
  ASSERT_TRUE(w.RecordOnce(&f).ok());
  EXPECT_EQ(Records().size(), 1u);  // in the new generation
  ASSERT_TRUE(w.Record(&f).ok());
  EXPECT_EQ(Records().size(), 2u);
}

TEST_F(JournalWriterTest, DeleteRenameSetAttr) {
  JournalWriter w(journal_.get());
  ASSERT_TRUE(w.Delete({"d", "x"}).ok());
  ASSERT_TRUE(w.Rename({"d", "a"}, {"b"}).ok());
  mount::JournalRecord attrs;
  attrs.set_mode(0600);
  ASSERT_TRUE(w.SetAttr(&d_, attrs).ok());
  ASSERT_TRUE(w.Sync().ok());
  auto recs = Records();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].op(), mount::JournalRecord::DELETE);
  EXPECT_EQ(recs[1].op(), mount::JournalRecord::RENAME);
  EXPECT_EQ(recs[1].to(0), "b");
  EXPECT_EQ(recs[2].op(), mount::JournalRecord::SETATTR);
  EXPECT_EQ(recs[2].mode(), 0600u);
  EXPECT_EQ(recs[2].path(0), "d");
}

TEST(JournalWriterNullTest, WithoutAJournalEverythingIsANoOp) {
  JournalWriter w(nullptr);
  Node n;
  EXPECT_TRUE(w.Put(&n).ok());
  EXPECT_TRUE(w.Record(&n).ok());
  EXPECT_TRUE(w.Delete({"x"}).ok());
  EXPECT_TRUE(w.Sync().ok());
  EXPECT_EQ(n.journaled_gen, 0u);
}

}  // namespace
}  // namespace snapvol::fs
