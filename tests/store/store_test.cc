#include "driver/store/store.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/store/temp_dir.h"

namespace snapvol::store {
namespace {

using core::Code;
using core::Env;

TEST(OpenStoreTest, NewDirectoryOpensTheLocalStore) {
  TempDir dir;
  std::string spec = dir.path() + "/a/b/store";
  auto store = OpenStore(spec, Env::Default());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->spec, spec);
  EXPECT_TRUE(*Env::Default()->FileExists(spec + "/FORMAT"));
  EXPECT_TRUE(*Env::Default()->FileExists(spec + "/catalog.db"));
  EXPECT_TRUE(*(*store)->catalog->EnvironmentExists("main"));
  std::string d = "hello";
  ASSERT_TRUE((*store)->objects->Put(Hash::Of(d), ObjectKind::kChunk, d).ok());
  ASSERT_TRUE((*store)->objects->Flush().ok());
}

TEST(OpenStoreTest, ExistingEmptyDirectoryAndReopen) {
  TempDir dir;
  {
    auto store = OpenStore(dir.path(), Env::Default());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->catalog->CreateEnvironment("dev", 1).ok());
  }
  auto store = OpenStore(dir.path() + "/", Env::Default());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->spec, dir.path());  // normalized
  EXPECT_TRUE(*(*store)->catalog->EnvironmentExists("dev"));
}

TEST(OpenStoreTest, OtherSpecsAreInvalidArgumentsNamingTheSpec) {
  TempDir dir;
  std::string file = dir.path() + "/s3.yaml";
  std::ofstream(file) << "bucket: x\n";
  for (const std::string& spec :
       {file, std::string("s3://bucket/prefix"), dir.path() + "/missing.yaml"}) {
    auto store = OpenStore(spec, Env::Default());
    EXPECT_EQ(store.status().code(), Code::kInvalidArgument) << spec;
    EXPECT_NE(store.status().message().find(spec), std::string::npos) << store.status().ToString();
  }
  EXPECT_EQ(OpenStore("", Env::Default()).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(*Env::Default()->FileExists(dir.path() + "/missing.yaml"));
}

TEST(OpenStoreTest, ForeignDirectoryIsRefused) {
  TempDir dir;
  std::ofstream(dir.path() + "/important.txt") << "data";
  auto store = OpenStore(dir.path(), Env::Default());
  EXPECT_EQ(store.status().code(), Code::kFailedPrecondition) << store.status().ToString();
}

TEST(OpenStoreTest, ObjectKindNames) {
  EXPECT_EQ(ObjectKindName(ObjectKind::kChunk), "chunk");
  EXPECT_EQ(ObjectKindName(ObjectKind::kIndex), "file index");
  EXPECT_EQ(ObjectKindName(ObjectKind::kTree), "tree");
  EXPECT_EQ(ObjectKindName(ObjectKind::kCommit), "commit");
}

}  // namespace
}  // namespace snapvol::store
