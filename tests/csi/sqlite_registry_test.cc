#include <gtest/gtest.h>

#include "driver/csi/registry.h"
#include "tests/store/temp_dir.h"

namespace snapvol::csi {
namespace {

SnapshotRecord Snap(const std::string& id, const std::string& name, const std::string& source) {
  SnapshotRecord r;
  r.id = id;
  r.request_name = name;
  r.source_volume_id = source;
  r.source_volume_uid = "uid-" + source;
  r.version = 3;
  r.commit = core::Hash::Of(id);
  r.size_bytes = 42;
  r.created_ns = 1'700'000'000'000'000'000;
  return r;
}

TEST(SqliteRegistryTest, VolumeMetaIsPutReplacedAndDeleted) {
  store::TempDir dir;
  auto reg = OpenSqliteRegistry(dir.path() + "/sub/registry.db");
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  auto none = (*reg)->GetVolumeMeta("u1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE((*reg)->PutVolumeMeta({"u1", "pvc-1", 100, "", 5, "2s"}).ok());
  ASSERT_TRUE((*reg)->PutVolumeMeta({"u1", "pvc-1", 200, "snapshot:x", 6, ""}).ok());
  auto got = (*reg)->GetVolumeMeta("u1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->capacity_bytes, 200);
  EXPECT_EQ((*got)->content_source, "snapshot:x");
  ASSERT_TRUE((*reg)->DeleteVolumeMeta("u1").ok());
  ASSERT_TRUE((*reg)->DeleteVolumeMeta("u1").ok());
  EXPECT_FALSE((*reg)->GetVolumeMeta("u1")->has_value());
}

TEST(SqliteRegistryTest, SnapshotsAreUniqueByIdAndNameAndSurviveReopen) {
  store::TempDir dir;
  std::string path = dir.path() + "/registry.db";
  {
    auto reg = OpenSqliteRegistry(path);
    ASSERT_TRUE(reg.ok());
    ASSERT_TRUE((*reg)->CreateSnapshot(Snap("main/a@3#01", "s1", "main/a")).ok());
    EXPECT_TRUE(
        (*reg)->CreateSnapshot(Snap("main/a@3#02", "s1", "main/a")).Is(core::Code::kAlreadyExists));
    EXPECT_TRUE(
        (*reg)->CreateSnapshot(Snap("main/a@3#01", "s9", "main/a")).Is(core::Code::kAlreadyExists));
  }
  auto reg = OpenSqliteRegistry(path);
  ASSERT_TRUE(reg.ok());
  auto byname = (*reg)->FindSnapshotByName("s1");
  ASSERT_TRUE(byname.ok() && byname->has_value());
  EXPECT_EQ((*byname)->id, "main/a@3#01");
  EXPECT_EQ((*byname)->commit, core::Hash::Of("main/a@3#01"));
  EXPECT_EQ((*byname)->version, 3u);
  ASSERT_TRUE((*reg)->DeleteSnapshot("main/a@3#01").ok());
  ASSERT_TRUE((*reg)->DeleteSnapshot("main/a@3#01").ok());
  EXPECT_FALSE((*reg)->GetSnapshot("main/a@3#01")->has_value());
  EXPECT_TRUE((*reg)->Check().ok());
}

TEST(SqliteRegistryTest, ListPagesInIdOrderAndFiltersBySource) {
  store::TempDir dir;
  auto reg = OpenSqliteRegistry(dir.path() + "/registry.db");
  ASSERT_TRUE(reg.ok());
  for (const char* id : {"main/b@1#00", "main/a@1#00", "main/a@2#00", "dev/z@1#00"}) {
    std::string s(id);
    ASSERT_TRUE((*reg)->CreateSnapshot(Snap(s, "n-" + s, s.substr(0, s.find('@')))).ok());
  }
  auto all = (*reg)->ListSnapshots("", 0, "");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].id, "dev/z@1#00");
  auto page = (*reg)->ListSnapshots("main/a@1#00", 2, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, "main/a@2#00");
  EXPECT_EQ((*page)[1].id, "main/b@1#00");
  auto of_a = (*reg)->ListSnapshots("", 0, "main/a");
  ASSERT_TRUE(of_a.ok());
  EXPECT_EQ(of_a->size(), 2u);
}

}  // namespace
}  // namespace snapvol::csi
