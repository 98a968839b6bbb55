#include "driver/fs/journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "driver/core/fault_env.h"
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

// The names of the records in `gen`'s file as it is on disk now.
std::vector<std::string> NamesIn(const std::string& dir, uint64_t gen) {
  auto c = ReadJournalFile(MountDirLayout(dir).JournalFile(gen));
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  std::vector<std::string> names;
  if (c.ok()) {
    for (const auto& r : c->records) names.push_back(r.path(1));
  }
  return names;
}

TEST_F(JournalTest, FullDiskFailsTheAppendAndKeepsEveryAcknowledgedRecord) {
  const size_t record = EncodeJournalRecord(Put("f0", 1)).size();  // each f<i>
  // The disk fills at every byte of the first three records.
  for (uint64_t room = 0; room <= 3 * record; ++room) {
    stdfs::remove_all(dir_);
    stdfs::create_directories(dir_);
    core::FaultEnv env(core::Env::Default());
    auto j = Journal::Open(dir_.string(), 1, &env);
    ASSERT_TRUE(j.ok());
    env.FillDiskAfter(room);
    std::vector<std::string> acked;
    for (int i = 0; i < 5; ++i) {
      const std::string name = "f" + std::to_string(i);
      Status s = (*j)->Append(Put(name, i + 1));
      if (s.ok()) {
        acked.push_back(name);
      } else {
        EXPECT_EQ(s.sys_errno(), ENOSPC) << s.ToString();
        EXPECT_TRUE(s.Is(core::Code::kResourceExhausted));
      }
    }
    EXPECT_EQ(acked.size(), room / record) << room;
    env.Reset();  // room again: appends go on after the last whole record
    for (const char* name : {"g0", "g1"}) {
      ASSERT_TRUE((*j)->Append(Put(name, 9)).ok());
      acked.push_back(name);
    }
    EXPECT_EQ(NamesIn(dir_.string(), 1), acked) << "disk full after " << room << " bytes";
  }
}

TEST_F(JournalTest, FailedSyncStaysFailedUntilItsGenerationIsCommitted) {
  core::FaultEnv env(core::Env::Default());
  auto j = Journal::Open(dir_.string(), 1, &env);
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE((*j)->Append(Put("a", 1)).ok());
  ASSERT_TRUE((*j)->Sync().ok());
  ASSERT_TRUE((*j)->Append(Put("b", 2)).ok());
  env.FailOperation("sync", EIO);
  EXPECT_EQ((*j)->Sync().sys_errno(), EIO);
  env.FailOperation("", 0);
  ASSERT_TRUE((*j)->Append(Put("c", 3)).ok());
  // The kernel would now say yes, but "b" may be lost: not durable.
  EXPECT_EQ((*j)->Sync().sys_errno(), EIO);
  auto closed = (*j)->Rotate();
  ASSERT_TRUE(closed.ok());
  ASSERT_TRUE((*j)->Append(Put("d", 4)).ok());
  EXPECT_EQ((*j)->Sync().sys_errno(), EIO);
  // A commit took generation 1: what the failed sync lost is in the store.
  ASSERT_TRUE((*j)->RemoveThrough(*closed).ok());
  EXPECT_TRUE((*j)->Sync().ok());
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_EQ(NamesIn(dir_.string(), 2), std::vector<std::string>{"d"});
}

TEST_F(JournalTest, SyncMakesRotatedGenerationsAndNewNamesDurable) {
  core::FaultEnv env(core::Env::Default());
  auto j = Journal::Open(dir_.string(), 1, &env);
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE((*j)->Append(Put("a", 1)).ok());
  ASSERT_TRUE((*j)->Rotate().ok());  // a commit starts; it may fail
  ASSERT_TRUE((*j)->Append(Put("b", 2)).ok());
  ASSERT_TRUE((*j)->Sync().ok());  // an fsync in the mount
  ASSERT_TRUE((*j)->Append(Put("lost", 3)).ok());
  ASSERT_TRUE(env.DropUnsyncedData().ok());  // power loss
  EXPECT_EQ(NamesIn(dir_.string(), 1), std::vector<std::string>{"a"});
  EXPECT_EQ(NamesIn(dir_.string(), 2), std::vector<std::string>{"b"});
}

TEST_F(JournalTest, ReopenedGenerationContinuesAfterItsLastWholeRecord) {
  const std::string path = MountDirLayout(dir_.string()).JournalFile(3);
  {
    std::ofstream out(path, std::ios::binary);
    const std::string torn = EncodeJournalRecord(Put("torn", 2));
    out << "svJ1" << EncodeJournalRecord(Put("a", 1)) << torn.substr(0, torn.size() - 3);
  }
  auto j = Journal::Open(dir_.string(), 3);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  ASSERT_TRUE((*j)->Append(Put("b", 3)).ok());
  EXPECT_EQ(NamesIn(dir_.string(), 3), (std::vector<std::string>{"a", "b"}));
  // A file cut inside the magic starts again.
  { std::ofstream(MountDirLayout(dir_.string()).JournalFile(4), std::ios::binary) << "sv"; }
  auto k = Journal::Open(dir_.string(), 4);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  ASSERT_TRUE((*k)->Append(Put("c", 4)).ok());
  EXPECT_EQ(NamesIn(dir_.string(), 4), std::vector<std::string>{"c"});
}

}  // namespace
}  // namespace snapvol::fs
