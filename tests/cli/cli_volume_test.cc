// CLI integration tests: volume and environment management, listings, rm,
// cp, log, names, exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "cli_harness.h"
#include "driver/core/names.h"

namespace snapvol::cli::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kPattern(core::kNamePattern);

TEST_F(CliTest, HelpAndUsageErrors) {
  RunResult r = Run({"--help"});
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("volume"));
  EXPECT_THAT(r.out, HasSubstr("environment"));

  EXPECT_EQ(Run({}).code, 2);
  EXPECT_EQ(Run({"volume"}).code, 2);
  EXPECT_EQ(Run({"volume", "frobnicate"}).code, 2);
  EXPECT_EQ(Run({"volume", "create"}).code, 2);
  EXPECT_EQ(Run({"volume", "list", "--no-such-flag"}).code, 2);
  EXPECT_EQ(Run({"volume", "create", "v", "--inode-limit", "many"}).code, 2);
  EXPECT_EQ(Run({"volume", "create", "v", "--inode-limit", "0"}).code, 2);
  r = Run({"volume", "cp", "v", "/only-one"});
  EXPECT_EQ(r.code, 2) << Describe(r);
}

// Usage errors say what was typed and what was meant, with the snapvol:
// prefix every error has; a command group alone prints its help.
TEST_F(CliTest, UnknownCommandsAreNamedWithSuggestions) {
  RunResult r = Run({"volume", "crate", "x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("snapvol: unknown command 'volume crate'; did you mean "
                               "'volume create'?"));
  r = Run({"volum", "ls"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'volum'; did you mean 'volume'"));
  r = Run({"volume", "lst"});
  EXPECT_THAT(r.err, HasSubstr("did you mean 'volume list' or 'volume ls'?"));
  r = Run({"frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("snapvol: unknown command 'frobnicate'"));
  EXPECT_THAT(r.err, Not(HasSubstr("did you mean")));
  // A typo that is not UTF-8 is escaped, not echoed.
  r = Run({"volume", std::string("cr\xff\x1b[31m")});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, Not(HasSubstr("\x1b")));
  r = Run({"volume"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("snapvol: 'snapvol volume' needs a command."));
  EXPECT_THAT(r.err, HasSubstr("create"));
  r = Run({"volume", "create"});
  EXPECT_THAT(r.err, HasSubstr("snapvol: VOL is required"));
  EXPECT_THAT(r.err, HasSubstr("Run 'snapvol volume create --help'"));
  r = Run({"volume", "list", "--no-such-flag"});
  EXPECT_THAT(r.err, HasSubstr("snapvol: The following argument was not expected: --no-such-flag"));
}

TEST_F(CliTest, CreateListDeleteVolume) {
  std::string out = Ok({"volume", "create", "data"});
  EXPECT_THAT(out, HasSubstr("volume 'data' in environment 'main'"));

  RunResult r = Run({"volume", "create", "data"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("snapvol: volume 'data' in environment 'main' already exists"));

  Ok({"volume", "create", "other", "--inode-limit", "1000"});
  nlohmann::json list = Json({"volume", "list"});
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "data");
  EXPECT_EQ(list[0]["environment"], "main");
  EXPECT_EQ(list[0]["version"], 0);
  EXPECT_TRUE(list[0]["created"].is_string());
  EXPECT_GT(list[0]["created_ns"].get<int64_t>(), 0);
  EXPECT_EQ(list[1]["name"], "other");
  EXPECT_EQ(list[1]["inode_limit"], 1000);

  out = Ok({"volume", "list"});
  EXPECT_THAT(out, HasSubstr("NAME"));
  EXPECT_THAT(out, HasSubstr("CREATED"));
  EXPECT_THAT(out, HasSubstr("data"));

  // No terminal on stdin and no -y: refused as a usage error, nothing deleted.
  r = Run({"volume", "delete", "data"});
  EXPECT_EQ(r.code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("-y"));
  EXPECT_THAT(r.err, HasSubstr("volume 'data' in environment 'main'"));
  EXPECT_EQ(Json({"volume", "list"}).size(), 2u);

  out = Ok({"volume", "delete", "data", "-y"});
  EXPECT_THAT(out, HasSubstr("Deleted volume 'data'"));
  list = Json({"volume", "list"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "other");

  r = Run({"volume", "delete", "data", "-y"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("volume 'data' in environment 'main' not found"));
}

TEST_F(CliTest, InvalidNamesAreUsageErrorsAndPrintThePattern) {
  for (const std::string& bad :
       std::vector<std::string>{"bad name", "bad/name", ".hidden", "_x", "a*", std::string(64, 'a'),
                                std::string("caf\xc3\xa9")}) {
    RunResult r = Run({"volume", "create", bad});
    EXPECT_EQ(r.code, 2) << bad << "\n" << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("invalid volume name")) << bad;
    EXPECT_THAT(r.err, HasSubstr(kPattern)) << bad;
  }
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"-e", "bad env", "volume", "list"},
                                             {"-e", "../x", "volume", "create", "v"},
                                             {"environment", "create", "no!"},
                                             {"environment", "delete", "-y", "a b"}}) {
    RunResult r = Run(args);
    EXPECT_EQ(r.code, 2) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("invalid environment name"));
    EXPECT_THAT(r.err, HasSubstr(kPattern));
  }
  Ok({"volume", "create", "v"});
  RunResult r = Run({"volume", "rename", "v", "bad name"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr(kPattern));
  // 63 characters is the longest allowed name.
  Ok({"volume", "create", std::string(63, 'a')});
  Ok({"volume", "create", "A-1.b_c"});
}

TEST_F(CliTest, MissingVolumeOrEnvironmentIsNamed) {
  WriteFile(Path("f.txt"), "x");
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"volume", "ls", "nope"},
                                             {"volume", "put", "nope", "f.txt"},
                                             {"volume", "get", "nope", "/f.txt"},
                                             {"volume", "rm", "nope", "/f.txt"},
                                             {"volume", "cp", "nope", "/a", "/b"},
                                             {"volume", "log", "nope"},
                                             {"volume", "rename", "nope", "new"},
                                             {"volume", "delete", "nope", "-y"}}) {
    RunResult r = Run(args);
    EXPECT_EQ(r.code, 1) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("snapvol: volume 'nope' in environment 'main' not found"))
        << Describe(r);
  }
  RunResult r = Run({"-e", "dev", "volume", "ls", "data"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("environment 'dev' not found"));
  r = Run({"volume", "create", "data"}, "", {"SNAPVOL_ENV=staging"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("environment 'staging' not found"));
  r = Run({"environment", "delete", "ghost", "-y"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("environment 'ghost' not found"));
}

TEST_F(CliTest, EnvironmentsIsolateVolumes) {
  Ok({"environment", "create", "dev"});
  RunResult r = Run({"environment", "create", "dev"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("environment 'dev' already exists"));

  Ok({"volume", "create", "data"});
  Ok({"-e", "dev", "volume", "create", "data"});
  WriteFile(Path("main.txt"), "main");
  WriteFile(Path("dev.txt"), "dev");
  Ok({"volume", "put", "data", "main.txt", "/f.txt"});
  // SNAPVOL_ENV selects the environment too.
  r = Run({"volume", "put", "data", "dev.txt", "/f.txt"}, "", {"SNAPVOL_ENV=dev"});
  EXPECT_EQ(r.code, 0) << Describe(r);

  EXPECT_EQ(Run({"volume", "get", "data", "/f.txt", "-"}).out, "main");
  EXPECT_EQ(Run({"--env", "dev", "volume", "get", "data", "/f.txt", "-"}).out, "dev");
  EXPECT_EQ(Versions("data"), 1u);

  Ok({"-e", "dev", "volume", "create", "only-dev"});
  r = Run({"volume", "ls", "only-dev"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("volume 'only-dev' in environment 'main' not found"));

  nlohmann::json envs = Json({"environment", "list"});
  ASSERT_TRUE(envs.is_array());
  ASSERT_EQ(envs.size(), 2u);
  EXPECT_EQ(envs[0]["name"], "dev");
  EXPECT_EQ(envs[0]["volumes"], 2);
  EXPECT_EQ(envs[1]["name"], "main");
  EXPECT_THAT(Ok({"environment", "list"}), HasSubstr("dev"));

  // Deleting an environment that holds volumes needs --force.
  r = Run({"environment", "delete", "dev", "-y"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("environment 'dev' still holds 2 volume(s)"));
  r = Run({"environment", "delete", "dev", "--force"});
  EXPECT_EQ(r.code, 2) << Describe(r);  // no tty, no -y
  Ok({"environment", "delete", "dev", "--force", "-y"});
  EXPECT_EQ(Json({"environment", "list"}).size(), 1u);
  // main survives and cannot be deleted; its volume is untouched.
  r = Run({"environment", "delete", "main", "-y"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("'main' cannot be deleted"));
  EXPECT_EQ(Run({"volume", "get", "data", "/f.txt", "-"}).out, "main");
}

TEST_F(CliTest, LsShowsTypeSizeMtimeName) {
  Ok({"volume", "create", "v"});
  MakeDirs(Path("src/sub"));
  WriteFile(Path("src/hello.txt"), "hello world");
  WriteFile(Path("src/sub/x"), std::string(3000, 'x'));
  ASSERT_EQ(::symlink("hello.txt", Path("src/link").c_str()), 0);
  SetMtime(Path("src/hello.txt"), 1700000000, 123456789);
  Ok({"volume", "put", "v", "src/", "/"});

  std::string out = Ok({"volume", "ls", "v"});
  EXPECT_THAT(out, HasSubstr("hello.txt"));
  EXPECT_THAT(out, HasSubstr("link -> hello.txt"));
  EXPECT_THAT(out, HasSubstr("sub/"));
  EXPECT_THAT(out, HasSubstr("11 B"));
  EXPECT_THAT(out, HasSubstr("2023-11-1"));  // local time of 1700000000

  nlohmann::json ls = Json({"volume", "ls", "v", "/"});
  ASSERT_EQ(ls.size(), 3u);
  EXPECT_EQ(ls[0]["name"], "hello.txt");
  EXPECT_EQ(ls[0]["type"], "file");
  EXPECT_EQ(ls[0]["size"], 11);
  EXPECT_EQ(ls[0]["path"], "/hello.txt");
  EXPECT_EQ(ls[0]["mtime_ns"], 1700000000123456789ll);
  EXPECT_EQ(ls[0]["mtime"], "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(ls[1]["type"], "symlink");
  EXPECT_EQ(ls[1]["target"], "hello.txt");
  EXPECT_EQ(ls[2]["type"], "dir");

  ls = Json({"volume", "ls", "v", "/sub"});
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_EQ(ls[0]["path"], "/sub/x");
  ls = Json({"volume", "ls", "v", "sub/x"});  // a file lists itself
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_EQ(ls[0]["size"], 3000);

  RunResult r = Run({"volume", "ls", "v", "/missing"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("volume 'v' in environment 'main': '/missing' not found"));
  Ok({"volume", "create", "empty"});
  EXPECT_EQ(Json({"volume", "ls", "empty"}).size(), 0u);
}

TEST_F(CliTest, DotDotPathsAreRejected) {
  Ok({"volume", "create", "v"});
  WriteFile(Path("f.txt"), "x");
  Ok({"volume", "put", "v", "f.txt", "/a/f.txt"});
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"volume", "put", "v", "f.txt", "/../f.txt"},
                                             {"volume", "put", "v", "f.txt", "a/../../f.txt"},
                                             {"volume", "get", "v", "/a/../a/f.txt", "out"},
                                             {"volume", "get", "v", "..", "-"},
                                             {"volume", "ls", "v", "/a/.."},
                                             {"volume", "rm", "v", "../a"},
                                             {"volume", "cp", "v", "/a/f.txt", "/../b"},
                                             {"volume", "cp", "v", "/../a", "/b"}}) {
    RunResult r = Run(args);
    EXPECT_EQ(r.code, 2) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("'..'")) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("volume 'v' in environment 'main'")) << Describe(r);
  }
  EXPECT_FALSE(Exists(Path("out")));
  EXPECT_EQ(Versions("v"), 1u);
}

TEST_F(CliTest, RmNeedsRecursiveForNonEmptyDirectories) {
  Ok({"volume", "create", "v"});
  MakeDirs(Path("d/sub"));
  MakeDirs(Path("d/empty"));
  WriteFile(Path("d/sub/f"), "f");
  WriteFile(Path("d/g"), "g");
  Ok({"volume", "put", "v", "d", "/"});
  ASSERT_EQ(Versions("v"), 1u);

  RunResult r = Run({"volume", "rm", "v", "/d/sub"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("volume 'v' in environment 'main': '/d/sub' is a directory and "
                               "not empty (use -r"));
  EXPECT_EQ(Versions("v"), 1u);

  Ok({"volume", "rm", "v", "/d/empty"});  // an empty directory needs no -r
  Ok({"volume", "rm", "v", "/d/g"});
  Ok({"volume", "rm", "v", "-r", "/d/sub"});
  EXPECT_EQ(Versions("v"), 4u);
  EXPECT_EQ(Json({"volume", "ls", "v", "/d"}).size(), 0u);

  r = Run({"volume", "rm", "v", "/d/g"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("'/d/g' not found"));
  r = Run({"volume", "rm", "v", "/", "-r"});
  EXPECT_EQ(r.code, 2) << Describe(r);
  EXPECT_EQ(Versions("v"), 4u);
}

TEST_F(CliTest, CpCopiesWithinTheVolume) {
  Ok({"volume", "create", "v"});
  MakeDirs(Path("src/d"));
  WriteFile(Path("src/a.txt"), "A");
  WriteFile(Path("src/d/big"), RandomBytes(3 << 20, 7));
  Ok({"volume", "put", "v", "src/", "/"});
  size_t v = Versions("v");

  Ok({"volume", "cp", "v", "/a.txt", "/b.txt"});
  EXPECT_EQ(Run({"volume", "get", "v", "/b.txt", "-"}).out, "A");
  Ok({"volume", "cp", "v", "/d", "/d2"});
  EXPECT_EQ(Run({"volume", "get", "v", "/d2/big", "-"}).out, RandomBytes(3 << 20, 7));
  Ok({"volume", "cp", "-r", "v", "/d", "/new/"});  // trailing slash: into /new
  EXPECT_EQ(Json({"volume", "ls", "v", "/new/d"}).size(), 1u);
  EXPECT_EQ(Versions("v"), v + 3);

  // Several sources: DST must be an existing directory.
  Ok({"volume", "cp", "v", "/a.txt", "/b.txt", "/d"});
  nlohmann::json ls = Json({"volume", "ls", "v", "/d"});
  ASSERT_EQ(ls.size(), 3u);
  EXPECT_EQ(Versions("v"), v + 4);  // one commit for both sources
  RunResult r = Run({"volume", "cp", "v", "/a.txt", "/b.txt", "/nodir"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("'/nodir' does not exist"));
  r = Run({"volume", "cp", "v", "/a.txt", "/b.txt", "/a.txt"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("is not a directory"));

  // Existing target files need --force; missing sources are named.
  r = Run({"volume", "cp", "v", "/a.txt", "/b.txt"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("'/b.txt' already exists (use --force to overwrite)"));
  r = Run({"volume", "cp", "v", "/missing", "/c.txt"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("volume 'v' in environment 'main': '/missing' not found"));
  r = Run({"volume", "cp", "v", "/d", "/d/inner"});
  EXPECT_EQ(r.code, 2) << Describe(r);
  EXPECT_EQ(Versions("v"), v + 4);
  WriteFile(Path("a2"), "A2");
  Ok({"volume", "put", "v", "a2", "/a.txt", "--force"});
  Ok({"volume", "cp", "v", "/a.txt", "/b.txt", "--force"});
  EXPECT_EQ(Run({"volume", "get", "v", "/b.txt", "-"}).out, "A2");
}

TEST_F(CliTest, RenameVolume) {
  Ok({"volume", "create", "old"});
  Ok({"volume", "create", "taken"});
  WriteFile(Path("f"), "content");
  Ok({"volume", "put", "old", "f", "/f"});
  Ok({"volume", "rename", "old", "new"});
  EXPECT_EQ(Run({"volume", "get", "new", "/f", "-"}).out, "content");
  EXPECT_EQ(Versions("new"), 1u);
  RunResult r = Run({"volume", "ls", "old"});
  EXPECT_EQ(r.code, 1);
  r = Run({"volume", "rename", "new", "taken"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("volume 'taken' in environment 'main' already exists"));
}

TEST_F(CliTest, EachChangingCommandIsOneVersion) {
  Ok({"volume", "create", "v"});
  EXPECT_EQ(Versions("v"), 0u);
  EXPECT_THAT(Ok({"volume", "log", "v"}), HasSubstr("no versions yet"));

  MakeDirs(Path("tree/a/b"));
  for (int i = 0; i < 50; ++i) {
    WriteFile(Path("tree/a/b/f" + std::to_string(i)), std::to_string(i));
  }
  WriteFile(Path("one.txt"), "one");
  Ok({"volume", "put", "v", "tree"});  // 50 files + 3 directories: one version
  EXPECT_EQ(Versions("v"), 1u);
  Ok({"volume", "put", "v", "one.txt"});
  EXPECT_EQ(Versions("v"), 2u);
  Ok({"volume", "cp", "v", "/one.txt", "/two.txt"});
  EXPECT_EQ(Versions("v"), 3u);
  Ok({"volume", "rm", "v", "-r", "/tree/a"});
  EXPECT_EQ(Versions("v"), 4u);
  // Read-only commands and failed commands add nothing.
  Ok({"volume", "ls", "v"});
  Run({"volume", "get", "v", "/one.txt", "-"});
  Run({"volume", "put", "v", "one.txt"});  // exists, no --force
  Run({"volume", "rm", "v", "/nope"});
  Ok({"volume", "rename", "v", "w"});
  EXPECT_EQ(Versions("w"), 4u);

  nlohmann::json log = Json({"volume", "log", "w"});
  ASSERT_EQ(log.size(), 4u);
  // Newest first, with time, author and what changed.
  EXPECT_EQ(log[0]["version"], 4);
  EXPECT_EQ(log[3]["version"], 1);
  EXPECT_EQ(log[0]["author"]["tool"], "cli");
  EXPECT_FALSE(log[0]["author"]["host"].get<std::string>().empty());
  EXPECT_TRUE(log[0]["time"].is_string());
  EXPECT_EQ(log[3]["summary"]["added"], 53);  // /tree, /tree/a, /tree/a/b + 50 files
  EXPECT_EQ(log[0]["summary"]["deleted"], 1);
  EXPECT_EQ(log[0]["parent"], log[1]["commit"]);
  EXPECT_THAT(log[3]["summary"]["sample"].dump(), HasSubstr("A /tree"));

  std::string text = Ok({"volume", "log", "w"});
  EXPECT_THAT(text, HasSubstr("version 4"));
  EXPECT_THAT(text, HasSubstr("(cli)"));
  EXPECT_THAT(text, HasSubstr("D /tree/a"));
  EXPECT_THAT(text, HasSubstr("+53"));
  EXPECT_THAT(text, HasSubstr("more"));
  EXPECT_LT(text.find("version 4"), text.find("version 1"));
  EXPECT_EQ(Json({"volume", "log", "w", "-n", "2"}).size(), 2u);
}

TEST_F(CliTest, InodeLimitIsEnforcedWithAClearError) {
  Ok({"volume", "create", "small", "--inode-limit", "5"});
  MakeDirs(Path("many"));
  for (int i = 0; i < 10; ++i) WriteFile(Path("many/f" + std::to_string(i)), "x");
  RunResult r = Run({"volume", "put", "small", "many"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("volume 'small' in environment 'main'"));
  EXPECT_THAT(r.err, HasSubstr("limit of 5"));
  EXPECT_EQ(Versions("small"), 0u);
  WriteFile(Path("one"), "1");
  Ok({"volume", "put", "small", "one"});
  EXPECT_EQ(Versions("small"), 1u);
}

}  // namespace
}  // namespace snapvol::cli::testing
