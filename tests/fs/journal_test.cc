#include "driver/fs/journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "driver/fs/state_layout.h"

namespace snapvol::fs {
namespace {

namespace stdfs = std::filesystem;

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = stdfs::temp_directory_path() /
           ("snapvol-journal-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    stdfs::remove_all(dir_);
    stdfs::create_directories(dir_);
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  static mount::JournalRecord Put(const std::string& name, uint64_t upper) {
    mount::JournalRecord r;
    r.set_op(mount::JournalRecord::PUT);
    r.add_path("dir");
    r.add_path(name);
    r.set_upper(upper);
    r.mutable_entry()->set_type(objects::FILE);
    r.mutable_entry()->set_mode(0644);
    return r;
  }

  stdfs::path dir_;
};

TEST_F(JournalTest, Crc32cKnownValue) {
  // RFC 3720 test vector: CRC-32C of "123456789".
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
}

TEST_F(JournalTest, AppendThenReadBack) {
  auto j = Journal::Open(dir_.string(), 1);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE((*j)->Append(Put("f" + std::to_string(i), i)).ok());
  ASSERT_TRUE((*j)->Sync().ok());
  auto c = ReadJournalFile(MountDirLayout(dir_.string()).JournalFile(1));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->torn);
  ASSERT_EQ(c->records.size(), 100u);
  EXPECT_EQ(c->records[42].path(1), "f42");
  EXPECT_EQ(c->records[42].upper(), 42u);
}

TEST_F(JournalTest, TornLastRecordIsDropped) {
  std::string bytes = "svJ1";
  bytes += EncodeJournalRecord(Put("a", 1));
  bytes += EncodeJournalRecord(Put("b", 2));
  const std::string third = EncodeJournalRecord(Put("c", 3));
  // Every proper prefix of the third record is a torn tail.
  for (size_t cut = 1; cut < third.size(); ++cut) {
    auto c = DecodeJournal(bytes + third.substr(0, cut));
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(c->torn) << cut;
    ASSERT_EQ(c->records.size(), 2u) << cut;
  }
  auto whole = DecodeJournal(bytes + third);
  ASSERT_TRUE(whole.ok());
  EXPECT_FALSE(whole->torn);
  EXPECT_EQ(whole->records.size(), 3u);
}

TEST_F(JournalTest, CorruptChecksumStopsReading) {
  std::string bytes = "svJ1" + EncodeJournalRecord(Put("a", 1));
  std::string second = EncodeJournalRecord(Put("b", 2));
  second[second.size() - 1] ^= 0x40;
  auto c = DecodeJournal(bytes + second + EncodeJournalRecord(Put("c", 3)));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->torn);
  EXPECT_EQ(c->records.size(), 1u);
}

TEST_F(JournalTest, WrongMagicIsCorruption) {
  auto c = DecodeJournal("xxxx" + EncodeJournalRecord(Put("a", 1)));
  EXPECT_TRUE(c.status().Is(core::Code::kCorruption));
  auto empty = DecodeJournal("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->records.empty());
}

TEST_F(JournalTest, RotateAndRemoveThrough) {
  auto j = Journal::Open(dir_.string(), 1);
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE((*j)->Append(Put("a", 1)).ok());
  auto closed = (*j)->Rotate();
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(*closed, 1u);
  EXPECT_EQ((*j)->gen(), 2u);
  ASSERT_TRUE((*j)->Append(Put("b", 2)).ok());
  auto gens = Journal::List(dir_.string());
  ASSERT_TRUE(gens.ok());
  EXPECT_EQ(*gens, (std::vector<uint64_t>{1, 2}));
  ASSERT_TRUE((*j)->RemoveThrough(1).ok());
  gens = Journal::List(dir_.string());
  EXPECT_EQ(*gens, (std::vector<uint64_t>{2}));
  // The current generation is never removed.
  ASSERT_TRUE((*j)->RemoveThrough(5).ok());
  gens = Journal::List(dir_.string());
  EXPECT_EQ(*gens, (std::vector<uint64_t>{2}));
}

TEST_F(JournalTest, ParseJournalName) {
  EXPECT_EQ(MountDirLayout::ParseJournalName("journal.7"), 7u);
  EXPECT_EQ(MountDirLayout::ParseJournalName("journal.12345"), 12345u);
  EXPECT_FALSE(MountDirLayout::ParseJournalName("journal."));
  EXPECT_FALSE(MountDirLayout::ParseJournalName("journal.07"));
  EXPECT_FALSE(MountDirLayout::ParseJournalName("journal.1x"));
  EXPECT_FALSE(MountDirLayout::ParseJournalName("mount.json"));
  EXPECT_EQ(MountDirLayout::ParseJournalName(MountDirLayout::JournalName(99)), 99u);
}

}  // namespace
}  // namespace snapvol::fs
