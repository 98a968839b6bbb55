// CLI integration tests: put and get argument rules, overwrite protection,
// streaming, and directory round trips.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "cli_harness.h"

namespace snapvol::cli::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST_F(CliTest, PutFollowsModalArgumentRules) {
  Ok({"volume", "create", "v"});
  MakeDirs(Path("local/dir/sub"));
  WriteFile(Path("local/file.txt"), "file");
  WriteFile(Path("local/dir/sub/x"), "x");

  Ok({"volume", "put", "v", "local/file.txt"});  // REMOTE defaults to "/"
  EXPECT_EQ(Run({"volume", "get", "v", "/file.txt", "-"}).out, "file");
  Ok({"volume", "put", "v", "local/file.txt", "/docs/"});  // trailing slash appends the name
  EXPECT_EQ(Run({"volume", "get", "v", "/docs/file.txt", "-"}).out, "file");
  // An existing remote directory: the file goes inside it (here onto the
  // copy from the line above, hence --force).
  RunResult r = Run({"volume", "put", "v", "local/file.txt", "/docs"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("'/docs/file.txt' already exists"));
  Ok({"volume", "put", "v", "local/file.txt", "/docs", "--force"});
  EXPECT_EQ(Json({"volume", "ls", "v", "/docs"}).size(), 1u);
  Ok({"volume", "put", "v", "local/file.txt", "/renamed.txt"});
  EXPECT_EQ(Run({"volume", "get", "v", "/renamed.txt", "-"}).out, "file");

  Ok({"volume", "put", "v", "local/dir"});  // a directory lands under its own name
  EXPECT_EQ(Run({"volume", "get", "v", "/dir/sub/x", "-"}).out, "x");
  Ok({"volume", "put", "v", "local/dir/", "/flat"});  // "dir/" with explicit REMOTE
  EXPECT_EQ(Run({"volume", "get", "v", "/flat/sub/x", "-"}).out, "x");
  Ok({"volume", "put", "v", "local/dir/", "/"});  // contents into the root
  EXPECT_EQ(Run({"volume", "get", "v", "/sub/x", "-"}).out, "x");

  // stdin streams into a named file.
  r = Run({"volume", "put", "v", "-", "/from-stdin.bin"}, RandomBytes(5 << 20, 3));
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(Run({"volume", "get", "v", "/from-stdin.bin", "-"}).out, RandomBytes(5 << 20, 3));

  // A file in the way of a parent directory is never silently replaced.
  r = Run({"volume", "put", "v", "local/file.txt", "/file.txt/inner"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("'/file.txt' is not a directory"));
  r = Run({"volume", "put", "v", "local/missing", "/x"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("local/missing"));
}

TEST_F(CliTest, PutRefusesToOverwriteWithoutForce) {
  Ok({"volume", "create", "data"});
  MakeDirs(Path("a"));
  WriteFile(Path("a/b.txt"), "one");
  Ok({"volume", "put", "data", "a/b.txt", "/a/b.txt"});

  WriteFile(Path("a/b.txt"), "two");
  RunResult r = Run({"volume", "put", "data", "a/b.txt", "/a/b.txt"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("snapvol: volume 'data' in environment 'main': '/a/b.txt' already "
                               "exists (use --force to overwrite)"));
  // A directory put with one conflicting file commits nothing at all.
  WriteFile(Path("a/new.txt"), "new");
  r = Run({"volume", "put", "data", "a", "/"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("'/a/b.txt' already exists"));
  EXPECT_EQ(Versions("data"), 1u);
  EXPECT_EQ(Run({"volume", "get", "data", "/a/b.txt", "-"}).out, "one");

  Ok({"volume", "put", "data", "a", "/", "--force"});
  EXPECT_EQ(Versions("data"), 2u);
  EXPECT_EQ(Run({"volume", "get", "data", "/a/b.txt", "-"}).out, "two");
  EXPECT_EQ(Run({"volume", "get", "data", "/a/new.txt", "-"}).out, "new");

  // A directory is never replaced by a file, even with --force.
  WriteFile(Path("plain"), "p");
  r = Run({"volume", "put", "data", "plain", "/a/", "--force"});
  EXPECT_EQ(r.code, 0) << Describe(r);  // "/a/" + "plain": inside the directory
  MakeDirs(Path("other"));
  WriteFile(Path("other/a"), "a file where the volume has a directory");
  r = Run({"volume", "put", "data", "other/", "/", "--force"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("'/a' is a directory; a file cannot replace it"));
  // stdin onto a directory needs a file name.
  r = Run({"volume", "put", "data", "-", "/a", "--force"}, "stdin");
  EXPECT_EQ(r.code, 2) << Describe(r);
  EXPECT_EQ(Versions("data"), 3u);
}

TEST_F(CliTest, GetFollowsModalArgumentRules) {
  Ok({"volume", "create", "v"});
  MakeDirs(Path("src/d/e"));
  WriteFile(Path("src/d/e/f.txt"), "deep");
  WriteFile(Path("src/top.txt"), "top");
  Ok({"volume", "put", "v", "src/", "/"});

  Ok({"volume", "get", "v", "/top.txt"});  // LOCAL defaults to "."
  EXPECT_EQ(ReadFile(Path("top.txt")), "top");
  MakeDirs(Path("into"));
  Ok({"volume", "get", "v", "/d", "into"});  // existing directory: the item goes inside
  EXPECT_EQ(ReadFile(Path("into/d/e/f.txt")), "deep");
  Ok({"volume", "get", "v", "/d", "fresh"});  // new name: the item becomes it
  EXPECT_EQ(ReadFile(Path("fresh/e/f.txt")), "deep");
  Ok({"volume", "get", "v", "/top.txt", "renamed.txt"});
  EXPECT_EQ(ReadFile(Path("renamed.txt")), "top");
  Ok({"volume", "get", "v", "/top.txt", "newdir/"});  // trailing slash: a directory
  EXPECT_EQ(ReadFile(Path("newdir/top.txt")), "top");
  MakeDirs(Path("whole"));
  Ok({"volume", "get", "v", "/", "whole"});  // the root's contents go into LOCAL
  EXPECT_THAT(ListTree(Path("whole")), ElementsAre("d", "d/e", "d/e/f.txt", "top.txt"));

  RunResult r = Run({"volume", "get", "v", "/nope", "x"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("volume 'v' in environment 'main': '/nope' not found"));
  r = Run({"volume", "get", "v", "/d", "-"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("only a file can be streamed"));
}

TEST_F(CliTest, GetRefusesToOverwriteLocalFilesWithoutForce) {
  Ok({"volume", "create", "v"});
  MakeDirs(Path("src/d"));
  WriteFile(Path("src/d/a"), "remote-a");
  WriteFile(Path("src/d/b"), "remote-b");
  Ok({"volume", "put", "v", "src/d", "/d"});

  MakeDirs(Path("out/d"));
  WriteFile(Path("out/d/b"), "local-b");
  RunResult r = Run({"volume", "get", "v", "/d", "out"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("local file 'out/d/b' already exists (use --force to overwrite)"));
  // Checked before anything was written.
  EXPECT_FALSE(Exists(Path("out/d/a")));
  EXPECT_EQ(ReadFile(Path("out/d/b")), "local-b");

  Ok({"volume", "get", "v", "/d", "out", "--force"});
  EXPECT_EQ(ReadFile(Path("out/d/a")), "remote-a");
  EXPECT_EQ(ReadFile(Path("out/d/b")), "remote-b");
  // No temporary files are left behind.
  EXPECT_THAT(ListTree(Path("out")), ElementsAre("d", "d/a", "d/b"));
}

TEST_F(CliTest, GetDashStreamsToStdout) {
  Ok({"volume", "create", "v"});
  const std::string big = RandomBytes(21 << 20, 11);  // several chunks
  WriteFile(Path("big.bin"), big);
  WriteFile(Path("empty"), "");
  Ok({"volume", "put", "v", "big.bin"});
  Ok({"volume", "put", "v", "empty"});
  RunResult r = Run({"volume", "get", "v", "/big.bin", "-"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.size(), big.size());
  EXPECT_TRUE(r.out == big);
  EXPECT_EQ(r.err, "");
  r = Run({"volume", "get", "v", "empty", "-"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "");
}

struct Stat {
  mode_t mode;
  off_t size;
  int64_t mtime_ns;
};

Stat LStat(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return {st.st_mode, st.st_size, st.st_mtim.tv_sec * 1'000'000'000ll + st.st_mtim.tv_nsec};
}

std::string ReadLink(const std::string& p) {
  char buf[4096];
  ssize_t n = ::readlink(p.c_str(), buf, sizeof(buf));
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

TEST_F(CliTest, DirectoryRoundTripKeepsContentModesSymlinksAndMtimes) {
  Ok({"volume", "create", "v"});
  const std::string src = Path("tree");
  MakeDirs(src + "/a/b/c");
  MakeDirs(src + "/empty");
  MakeDirs(src + "/locked");
  WriteFile(src + "/zero", "", 0644);
  WriteFile(src + "/small.txt", "hello\n", 0600);
  WriteFile(src + "/a/inline", RandomBytes(4000, 1), 0640);
  WriteFile(src + "/a/b/chunked", RandomBytes(5000, 2), 0755);
  WriteFile(src + "/a/b/c/large", RandomBytes((6 << 20) + 12345, 3), 0444);
  WriteFile(src + "/locked/inside", "secret", 0400);
  WriteFile(src + "/weird name \xe2\x98\x83 'q'", "unicode", 0644);
  ASSERT_EQ(::symlink("a/b/chunked", (src + "/rel-link").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/hostname", (src + "/abs-link").c_str()), 0);
  ASSERT_EQ(::symlink("does/not/exist", (src + "/dangling").c_str()), 0);
  ASSERT_EQ(::symlink("a", (src + "/dir-link").c_str()), 0);
  int64_t sec = 1600000000;
  for (const std::string& rel : ListTree(src)) SetMtime(src + "/" + rel, sec++, 987654321);
  ASSERT_EQ(::chmod((src + "/locked").c_str(), 0500), 0);
  SetMtime(src + "/locked", 1500000000, 1);
  ASSERT_EQ(::chmod((src + "/a/b").c_str(), 0711), 0);
  SetMtime(src + "/a/b", 1500000001, 2);

  Ok({"volume", "put", "v", "tree", "/t"});
  EXPECT_EQ(Versions("v"), 1u);
  Ok({"volume", "get", "v", "/t", "back"});

  const std::string dst = Path("back");
  std::vector<std::string> names = ListTree(src);
  ASSERT_EQ(ListTree(dst), names);
  for (const std::string& rel : names) {
    Stat a = LStat(src + "/" + rel), b = LStat(dst + "/" + rel);
    EXPECT_EQ(a.mode, b.mode) << rel;
    EXPECT_EQ(a.mtime_ns, b.mtime_ns) << rel;
    if (S_ISREG(a.mode)) {
      EXPECT_EQ(a.size, b.size) << rel;
      EXPECT_TRUE(ReadFile(src + "/" + rel) == ReadFile(dst + "/" + rel)) << rel;
    }
    if (S_ISLNK(a.mode)) {
      EXPECT_EQ(ReadLink(src + "/" + rel), ReadLink(dst + "/" + rel)) << rel;
    }
  }
  EXPECT_EQ(LStat(dst).mtime_ns, LStat(src).mtime_ns);
  EXPECT_EQ(LStat(dst).mode, LStat(src).mode);
}

}  // namespace
}  // namespace snapvol::cli::testing
