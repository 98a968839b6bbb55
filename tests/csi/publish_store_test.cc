#include "driver/csi/publish_store.h"

#include <gtest/gtest.h>

#include "tests/store/temp_dir.h"

namespace snapvol::csi {
namespace {

TEST(PublishStoreTest, PutGetListRemove) {
  store::TempDir dir;
  PublishStore ps(core::Env::Default(), dir.path() + "/csi/published");
  ASSERT_TRUE(ps.Init().ok());
  PublishRecord r;
  r.volume_id = "main/v";
  r.target_path = "/var/lib/kubelet/pods/p/volumes/kubernetes.io~csi/pv/mount";
  r.environment = "main";
  r.volume = "v";
  r.read_only = true;
  r.version = 4;
  r.pod_name = "pod";
  ASSERT_TRUE(ps.Put(r).ok());
  auto got = ps.Get(r.target_path);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->volume_id, "main/v");
  EXPECT_TRUE((*got)->read_only);
  EXPECT_EQ((*got)->version, 4u);
  EXPECT_EQ((*got)->pod_name, "pod");
  EXPECT_FALSE(ps.Get("/other")->has_value());
  auto list = ps.List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
  ASSERT_TRUE(ps.Remove(r.target_path).ok());
  ASSERT_TRUE(ps.Remove(r.target_path).ok());
  EXPECT_FALSE(ps.Get(r.target_path)->has_value());
}

TEST(PublishStoreTest, ListSkipsGarbage) {
  store::TempDir dir;
  PublishStore ps(core::Env::Default(), dir.path());
  ASSERT_TRUE(ps.Init().ok());
  auto f = core::Env::Default()->NewWritableFile(dir.path() + "/junk.json");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("{not json").ok());
  ASSERT_TRUE((*f)->Close().ok());
  // Integers that do not fit their fields (a float cast would be undefined
  // behaviour; -1 would wrap) make a record garbage too.
  for (const char* bad : {R"({"format":1,"volume_id":"a","target_path":"/x","version":1e300})",
                          R"({"format":1,"volume_id":"a","target_path":"/y","version":-1})",
                          R"({"format":1.5,"volume_id":"a","target_path":"/z"})"}) {
    static int n = 0;
    auto g =
        core::Env::Default()->NewWritableFile(dir.path() + "/bad" + std::to_string(n++) + ".json");
    ASSERT_TRUE(g.ok());
    ASSERT_TRUE((*g)->Append(bad).ok());
    ASSERT_TRUE((*g)->Close().ok());
  }
  PublishRecord r;
  r.volume_id = "main/v";
  r.target_path = "/t";
  ASSERT_TRUE(ps.Put(r).ok());
  auto list = ps.List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

}  // namespace
}  // namespace snapvol::csi
