// CLI integration tests: get never writes through symlinks, and damaged
// stores fail loudly without collateral damage.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "cli_harness.h"
#include "driver/core/hash.h"

namespace snapvol::cli::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;

TEST_F(CliTest, GetNeverWritesThroughASymlinkInTheDestination) {
  Ok({"volume", "create", "v"});
  MakeDirs(Path("src/d/sub"));
  WriteFile(Path("src/d/sub/f.txt"), "payload");
  WriteFile(Path("src/d/g.txt"), "g");
  Ok({"volume", "put", "v", "src/d", "/d"});
  MakeDirs(Path("outside"));
  WriteFile(Path("outside/victim.txt"), "victim");

  // A symlinked directory inside the destination tree.
  MakeDirs(Path("dest/d"));
  ASSERT_EQ(::symlink("../../outside", Path("dest/d/sub").c_str()), 0);
  for (bool force : {false, true}) {
    std::vector<std::string> args{"volume", "get", "v", "/d", "dest"};
    if (force) args.push_back("--force");
    RunResult r = Run(args);
    EXPECT_EQ(r.code, 1) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("local path 'dest/d/sub' is a symlink; refusing to write "
                                 "through it"));
  }
  EXPECT_THAT(ListTree(Path("outside")), ElementsAre("victim.txt"));

  // A symlink where a file would go: not replaced and not followed, even
  // with --force.
  MakeDirs(Path("dest2/d"));
  ASSERT_EQ(::symlink(Path("outside/victim.txt").c_str(), Path("dest2/d/g.txt").c_str()), 0);
  RunResult r = Run({"volume", "get", "v", "/d", "dest2", "--force"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("'dest2/d/g.txt' is a symlink"));
  EXPECT_EQ(ReadFile(Path("outside/victim.txt")), "victim");
  struct stat st {};
  ASSERT_EQ(::lstat(Path("dest2/d/g.txt").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));

  // LOCAL named as a (dangling) symlink is not followed either.
  ASSERT_EQ(::symlink("outside/created-by-get", Path("dangling").c_str()), 0);
  r = Run({"volume", "get", "v", "/d/g.txt", "dangling", "--force"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(ListTree(Path("outside")), ElementsAre("victim.txt"));

  // The LOCAL the user typed may itself be a symlink to a directory.
  MakeDirs(Path("real"));
  ASSERT_EQ(::symlink("real", Path("via-link").c_str()), 0);
  Ok({"volume", "get", "v", "/d", "via-link"});
  EXPECT_EQ(ReadFile(Path("real/d/sub/f.txt")), "payload");
  EXPECT_THAT(ListTree(Path("outside")), ElementsAre("victim.txt"));
}

std::string ObjectFile(const std::string& store, const std::string& content) {
  std::string hex = core::Hash::Of(content).Hex();
  return store + "/objects/" + hex.substr(0, 2) + "/" + hex.substr(2);
}

TEST_F(CliTest, CorruptObjectFailsClearlyAndNothingElseIsDamaged) {
  Ok({"volume", "create", "v"});
  const std::string a = RandomBytes(64 << 10, 1), b = RandomBytes(64 << 10, 2);
  MakeDirs(Path("src"));
  WriteFile(Path("src/a.bin"), a);
  WriteFile(Path("src/b.bin"), b);
  WriteFile(Path("src/c.txt"), "inline");
  Ok({"volume", "put", "v", "src/", "/"});

  const std::string obj = ObjectFile(store(), a);
  ASSERT_TRUE(Exists(obj)) << obj;
  ::chmod(obj.c_str(), 0644);
  int fd = ::open(obj.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char byte = 0;
  ASSERT_EQ(::pread(fd, &byte, 1, 1000), 1);
  byte = static_cast<char>(byte ^ 0x5a);
  ASSERT_EQ(::pwrite(fd, &byte, 1, 1000), 1);
  ::close(fd);

  RunResult r = Run({"volume", "get", "v", "/a.bin", "-"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, MatchesRegex("(.|\n)*[Cc]orrupt(.|\n)*"));
  EXPECT_THAT(r.err, HasSubstr("volume 'v' in environment 'main': '/a.bin'"));
  EXPECT_NE(r.out, a);

  // A directory get fails too, without leaving a.bin or a temporary file.
  MakeDirs(Path("out"));
  r = Run({"volume", "get", "v", "/", "out"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  for (const std::string& name : ListTree(Path("out"))) {
    EXPECT_NE(name, "a.bin");
    EXPECT_EQ(name.find(".snapvol"), std::string::npos) << name;
  }

  // Everything else is still readable, and the store still takes commits.
  EXPECT_TRUE(Run({"volume", "get", "v", "/b.bin", "-"}).out == b);
  EXPECT_EQ(Run({"volume", "get", "v", "/c.txt", "-"}).out, "inline");
  EXPECT_EQ(Json({"volume", "ls", "v"}).size(), 3u);
  WriteFile(Path("d.txt"), "more");
  Ok({"volume", "put", "v", "d.txt"});
  EXPECT_EQ(Versions("v"), 2u);
}

TEST_F(CliTest, MissingObjectFailsClearly) {
  Ok({"volume", "create", "v"});
  const std::string a = RandomBytes(100 << 10, 5);
  WriteFile(Path("a.bin"), a);
  WriteFile(Path("b.txt"), "b");
  Ok({"volume", "put", "v", "a.bin"});
  Ok({"volume", "put", "v", "b.txt"});
  ASSERT_EQ(::unlink(ObjectFile(store(), a).c_str()), 0);

  RunResult r = Run({"volume", "get", "v", "/a.bin", "a-copy"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("volume 'v' in environment 'main': '/a.bin'"));
  EXPECT_FALSE(Exists(Path("a-copy")));
  EXPECT_THAT(ListTree(dir()), ::testing::Not(::testing::Contains(HasSubstr(".snapvol-get"))));
  EXPECT_EQ(Run({"volume", "get", "v", "/b.txt", "-"}).out, "b");
}

// A damaged head commit: the log still lists every version (marking the
// damaged one) and fails; rollback makes an earlier version the newest,
// over the damaged head, in O(1).
TEST_F(CliTest, ADamagedHeadIsShownInTheLogAndRolledBackOver) {
  Ok({"volume", "create", "v"});
  for (int i = 1; i <= 3; ++i) {
    WriteFile(Path("f"), "content " + std::to_string(i));
    Ok({"volume", "put", "v", Path("f"), "/f", "--force"});
  }
  nlohmann::json log = Json({"volume", "log", "v"});
  ASSERT_EQ(log.size(), 3u);
  const std::string head = log[0]["commit"].get<std::string>();
  const std::string object = store() + "/objects/" + head.substr(0, 2) + "/" + head.substr(2);
  ASSERT_TRUE(Exists(object)) << object;
  ASSERT_EQ(::truncate(object.c_str(), 5), 0);

  RunResult r = Run({"volume", "log", "v"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("version 3  DAMAGED:"));
  EXPECT_THAT(r.out, HasSubstr("version 2  "));
  EXPECT_THAT(r.out, HasSubstr("version 1  "));
  EXPECT_THAT(r.err, HasSubstr("1 of 3 versions shown cannot be read"));
  r = Run({"--json", "volume", "log", "v"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  nlohmann::json damaged = nlohmann::json::parse(r.out);
  ASSERT_EQ(damaged.size(), 3u);
  EXPECT_TRUE(damaged[0].contains("error"));
  EXPECT_EQ(damaged[1]["version"], 2);
  EXPECT_EQ(Run({"volume", "get", "v", "/f", "-"}).code, 1);

  r = Run({"volume", "rollback", "v", "2"});
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Committed version 4."));
  EXPECT_EQ(Run({"volume", "get", "v", "/f", "-"}).out, "content 2");
  log = Json({"volume", "log", "v", "-n", "1"});
  EXPECT_EQ(log[0]["message"], "rollback to version 2");
  // Back to empty, and an unknown version is refused.
  Ok({"volume", "rollback", "v", "0"});
  EXPECT_EQ(Run({"volume", "get", "v", "/f", "-"}).code, 1);
  r = Run({"volume", "rollback", "v", "9"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("version 9"));
}

TEST_F(CliTest, StoreFsckFindsADamagedChunk) {
  Ok({"volume", "create", "v"});
  WriteFile(Path("big"), RandomBytes(3 << 20, 7));
  Ok({"volume", "put", "v", Path("big"), "/big"});
  std::string out = Ok({"store", "fsck"});
  EXPECT_THAT(out, HasSubstr("no problems"));
  nlohmann::json j = Json({"store", "fsck"});
  EXPECT_EQ(j["versions"], 1);
  EXPECT_TRUE(j["problems"].empty());
  // Flip a byte of every chunk object (files over 1 MiB).
  int damaged = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(store() + "/objects")) {
    if (!e.is_regular_file() || e.file_size() < (1 << 20)) continue;
    int fd = ::open(e.path().c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "!", 1, 100), 1);
    ::close(fd);
    ++damaged;
  }
  ASSERT_GT(damaged, 0);
  EXPECT_EQ(Run({"store", "fsck", "--quick"}).code, 0);  // present, not read
  RunResult r = Run({"store", "fsck"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("version 1, /big: "));
  EXPECT_THAT(r.err, HasSubstr("fsck found"));
}

// A lost catalog is refused, not started anew; `store fsck --repair`
// rebuilds it from the commit objects (names, environments, every version).
TEST_F(CliTest, StoreFsckRepairRebuildsALostCatalog) {
  Ok({"volume", "create", "v"});
  for (int i = 1; i <= 3; ++i) {
    WriteFile(Path("f"), "v" + std::to_string(i));
    Ok({"volume", "put", "v", Path("f"), "/f", "--force"});
  }
  Ok({"environment", "create", "dev"});
  Ok({"-e", "dev", "volume", "create", "old-name"});
  WriteFile(Path("g"), "in dev");
  Ok({"-e", "dev", "volume", "put", "old-name", Path("g"), "/g"});
  Ok({"-e", "dev", "volume", "rename", "old-name", "w"});
  WriteFile(Path("h"), "after the rename");
  Ok({"-e", "dev", "volume", "put", "w", Path("h"), "/h"});
  for (const char* suffix : {"", "-wal", "-shm"}) {
    ::unlink((store() + "/catalog.db" + suffix).c_str());
  }
  RunResult r = Run({"volume", "list"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("catalog"));

  r = Run({"store", "fsck", "--repair"});
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("rebuilt 2 volumes"));
  EXPECT_THAT(r.out, HasSubstr("no problems"));
  EXPECT_EQ(Versions("v"), 3u);
  EXPECT_EQ(Run({"volume", "get", "v", "/f", "-"}).out, "v3");
  EXPECT_EQ(Run({"-e", "dev", "volume", "get", "w", "/g", "-"}).out, "in dev");
  EXPECT_EQ(Run({"-e", "dev", "volume", "get", "w", "/h", "-"}).out, "after the rename");
  // Commits land on the rebuilt log.
  WriteFile(Path("f"), "v4");
  Ok({"volume", "put", "v", Path("f"), "/f", "--force"});
  EXPECT_EQ(Versions("v"), 4u);
  // A catalog with volumes is never rebuilt over.
  r = Run({"store", "fsck", "--repair"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("only rebuilds a missing or empty catalog"));
}

}  // namespace
}  // namespace snapvol::cli::testing
