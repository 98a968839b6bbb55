#include "driver/store/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
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

// Whatever the umask, the store is the owner's only: other local users read
// no volume data and no volume names from it.
TEST(OpenStoreTest, TheStoreIsOwnerOnlyWhateverTheUmask) {
  TempDir dir;
  const std::string spec = dir.path() + "/store";
  const mode_t old = ::umask(0);
  {
    auto store = OpenStore(spec, Env::Default());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_TRUE((*store)->warnings.empty());
    std::string d(2 << 20, 'v');  // large enough for the direct write path too
    ASSERT_TRUE((*store)->objects->Put(Hash::Of(d), ObjectKind::kChunk, d).ok());
    ASSERT_TRUE((*store)->objects->Put(Hash::Of("s"), ObjectKind::kChunk, "s").ok());
    ASSERT_TRUE((*store)->objects->Flush().ok());
    ASSERT_TRUE((*store)->catalog->CreateEnvironment("dev", 1).ok());
  }
  ::umask(old);
  int checked = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(spec)) {
    struct stat st {};
    ASSERT_EQ(::lstat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 077, 0u) << e.path() << " has mode " << std::oct << (st.st_mode & 07777);
    ++checked;
  }
  struct stat root {};
  ASSERT_EQ(::stat(spec.c_str(), &root), 0);
  EXPECT_EQ(root.st_mode & 07777, 0700u);
  EXPECT_GT(checked, 6);
  if (::geteuid() != 0) GTEST_SKIP() << "the other-user check needs root";
  // Another user cannot read an object.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) _exit(2);
    for (const auto& e : std::filesystem::recursive_directory_iterator(
             spec, std::filesystem::directory_options::skip_permission_denied)) {
      if (e.is_regular_file() && ::access(e.path().c_str(), R_OK) == 0) _exit(1);
    }
    _exit(::access(spec.c_str(), R_OK | X_OK) == 0 ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(OpenStoreTest, AStoreOthersCanReadWarns) {
  TempDir dir;
  const std::string spec = dir.path() + "/store";
  ASSERT_TRUE(OpenStore(spec, Env::Default()).ok());
  ASSERT_EQ(::chmod(spec.c_str(), 0755), 0);
  auto store = OpenStore(spec, Env::Default());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_EQ((*store)->warnings.size(), 1u);
  EXPECT_NE((*store)->warnings[0].find(spec + " is accessible to other users (mode 0755)"),
            std::string::npos)
      << (*store)->warnings[0];
}

// A catalog that vanished or was emptied under existing objects is an error,
// never a fresh empty catalog (volumes would vanish and exit 0).
TEST(OpenStoreTest, ObjectsWithoutACatalogAreRefused) {
  for (bool empty : {false, true}) {
    TempDir dir;
    const std::string spec = dir.path() + "/store";
    {
      auto store = OpenStore(spec, Env::Default());
      ASSERT_TRUE(store.ok());
      ASSERT_TRUE((*store)->objects->Put(Hash::Of("x"), ObjectKind::kChunk, "x").ok());
      ASSERT_TRUE((*store)->objects->Flush().ok());
    }
    const std::string catalog = spec + "/catalog.db";
    if (empty) {
      ASSERT_EQ(::truncate(catalog.c_str(), 0), 0);
    } else {
      for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((catalog + suffix).c_str());
    }
    auto store = OpenStore(spec, Env::Default());
    EXPECT_EQ(store.status().code(), Code::kFailedPrecondition) << store.status().ToString();
    EXPECT_NE(store.status().message().find(empty ? "is empty" : "is missing"), std::string::npos)
        << store.status().ToString();
    struct stat st {};
    EXPECT_EQ(::stat(catalog.c_str(), &st) == 0 ? st.st_size : 0, 0) << "a catalog was started";
  }
  // A store that never held an object (a crash right after creating it) opens.
  TempDir fresh;
  ASSERT_TRUE(OpenStore(fresh.path() + "/s", Env::Default()).ok());
  ::unlink((fresh.path() + "/s/catalog.db").c_str());
  EXPECT_TRUE(OpenStore(fresh.path() + "/s", Env::Default()).ok());
}

}  // namespace
}  // namespace snapvol::store
