// CLI integration tests of hostile input (issue 12): get as root must not
// hand out set-uid files someone else stored, and put must not be raced
// into reading files outside LOCAL or storing a file that changed while it
// was read.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "cli_harness.h"

namespace snapvol::cli::testing {
namespace {

using ::testing::HasSubstr;

struct stat Lstat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

// Stores a set-uid file and a set-gid directory of uid/gid 1234, as another
// user on a shared machine could.
class GetOwnerTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to store files of another owner";
    Ok({"volume", "create", "v"});
    MakeDirs(Path("src/shared"));
    WriteFile(Path("src/tool"), "#!/bin/sh\nid\n", 0755);
    WriteFile(Path("src/shared/inner"), "x", 0644);
    // chown(2) clears set-uid/set-gid, so the mode goes on afterwards.
    for (const char* p : {"src/tool", "src/shared", "src/shared/inner"}) {
      ASSERT_EQ(::chown(Path(p).c_str(), 1234, 1234), 0) << p;
    }
    ASSERT_EQ(::chmod(Path("src/tool").c_str(), 04755), 0);
    ASSERT_EQ(::chmod(Path("src/shared").c_str(), 02775), 0);
    Ok({"volume", "put", "v", "src", "/src"});
  }
};

TEST_F(GetOwnerTest, GetAsRootOwnsEverythingAndDropsSetIdBits) {
  Ok({"volume", "get", "v", "/src", "out/"});
  struct stat tool = Lstat(Path("out/src/tool"));
  EXPECT_EQ(tool.st_uid, 0u);
  EXPECT_EQ(tool.st_gid, 0u);
  EXPECT_EQ(tool.st_mode & 07777, 0755u);
  struct stat shared = Lstat(Path("out/src/shared"));
  EXPECT_TRUE(S_ISDIR(shared.st_mode));
  EXPECT_EQ(shared.st_uid, 0u);
  EXPECT_EQ(shared.st_mode & 07777, 0775u);
  EXPECT_EQ(Lstat(Path("out/src/shared/inner")).st_uid, 0u);

  // A single file, too.
  Ok({"volume", "get", "v", "/src/tool", "one"});
  struct stat one = Lstat(Path("one"));
  EXPECT_EQ(one.st_uid, 0u);
  EXPECT_EQ(one.st_mode & 07777, 0755u);
}

TEST_F(GetOwnerTest, SameOwnerRestoresOwnersAndSetIdBits) {
  Ok({"volume", "get", "v", "/src", "out/", "--same-owner"});
  struct stat tool = Lstat(Path("out/src/tool"));
  EXPECT_EQ(tool.st_uid, 1234u);
  EXPECT_EQ(tool.st_gid, 1234u);
  EXPECT_EQ(tool.st_mode & 07777, 04755u);
  struct stat shared = Lstat(Path("out/src/shared"));
  EXPECT_EQ(shared.st_uid, 1234u);
  EXPECT_EQ(shared.st_gid, 1234u);
  EXPECT_EQ(shared.st_mode & 07777, 02775u);
  EXPECT_EQ(Lstat(Path("out/src/shared/inner")).st_uid, 1234u);
}

// Runs `put` with a SNAPVOL_TEST_PAUSE_* hook: each time the process stops
// itself, the next of `changes` runs (none once they run out) before it is
// continued.
class PutRaceTest : public CliTest {
 protected:
  struct Paused {
    int code = -1;
    int stops = 0;
    std::string output;
  };

  Paused RunPaused(const std::vector<std::string>& args, const std::string& hook,
                   const std::vector<std::function<void()>>& changes) {
    Paused p;
    pid_t pid = Spawn(args, {hook + "=1"});
    for (;;) {
      int status = 0;
      if (::waitpid(pid, &status, WUNTRACED) < 0) {
        if (errno == EINTR) continue;
        ADD_FAILURE() << "waitpid: " << std::strerror(errno);
        break;
      }
      if (WIFSTOPPED(status)) {
        if (static_cast<size_t>(p.stops) < changes.size()) changes[p.stops]();
        ++p.stops;
        ::kill(pid, SIGCONT);
        continue;
      }
      p.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    p.output = SpawnOutput(pid);
    return p;
  }

  void SetUp() override {
    CliTest::SetUp();
    Ok({"volume", "create", "v"});
    MakeDirs(Path("src/d"));
    WriteFile(Path("src/a"), "a");
    WriteFile(Path("src/d/secret"), "the tree's own file");
    // Stands for /etc/shadow: readable by the root running put, never meant
    // for the volume.
    MakeDirs(Path("etc"));
    WriteFile(Path("etc/secret"), kShadow, 0600);
  }

  // Nothing was committed, and the outside bytes are nowhere in the store.
  void ExpectNothingStored() {
    EXPECT_EQ(Versions("v"), 0u);
    RunResult ls = Run({"volume", "ls", "v", "/"});
    EXPECT_EQ(ls.out, "") << Describe(ls);
    for (const std::string& f : ListTree(store())) {
      struct stat st {};
      if (::lstat((store() + "/" + f).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        EXPECT_THAT(ReadFile(store() + "/" + f), ::testing::Not(HasSubstr(kShadow))) << f;
      }
    }
  }

  static constexpr char kShadow[] = "root:SECRET-HASH:19000:0:99999:7:::";
};

TEST_F(PutRaceTest, DirectorySwappedForASymlinkAfterTheWalkIsNotFollowed) {
  Paused p =
      RunPaused({"volume", "put", "v", "src", "/src"}, "SNAPVOL_TEST_PAUSE_AFTER_WALK", {[&] {
                  ASSERT_EQ(::rename(Path("src/d").c_str(), Path("d.old").c_str()), 0);
                  ASSERT_EQ(::symlink("../etc", Path("src/d").c_str()), 0);
                }});
  EXPECT_EQ(p.stops, 1);
  EXPECT_EQ(p.code, 1) << p.output;
  EXPECT_THAT(p.output,
              HasSubstr("local path 'src/d/secret' changed while it was read (a symlink appeared "
                        "on its path); nothing was committed"));
  ExpectNothingStored();
}

TEST_F(PutRaceTest, FileReplacedAfterTheWalkIsNotUploaded) {
  Paused p =
      RunPaused({"volume", "put", "v", "src", "/src"}, "SNAPVOL_TEST_PAUSE_AFTER_WALK", {[&] {
                  // A hard link: the same name now holds another inode.
                  ASSERT_EQ(::unlink(Path("src/d/secret").c_str()), 0);
                  ASSERT_EQ(::link(Path("etc/secret").c_str(), Path("src/d/secret").c_str()), 0);
                }});
  EXPECT_EQ(p.stops, 1);
  EXPECT_EQ(p.code, 1) << p.output;
  EXPECT_THAT(p.output, HasSubstr("local path 'src/d/secret' changed while it was read (it is no "
                                  "longer the file that was listed); nothing was committed"));
  ExpectNothingStored();
}

TEST_F(PutRaceTest, TheTopLevelSymlinkIsFollowedAndNothingBelowIt) {
  ASSERT_EQ(::symlink("src", Path("link").c_str()), 0);
  ASSERT_EQ(::symlink("../etc/secret", Path("src/d/to-secret").c_str()), 0);
  Ok({"volume", "put", "v", "link", "/src"});
  EXPECT_EQ(Run({"volume", "get", "v", "/src/d/secret", "-"}).out, "the tree's own file");
  // The symlink inside is stored as a symlink, not read through.
  nlohmann::json ls = Json({"volume", "ls", "v", "/src/d"});
  ASSERT_EQ(ls.size(), 2u) << ls.dump();
  EXPECT_EQ(ls[1]["type"], "symlink") << ls.dump();
  EXPECT_EQ(ls[1]["target"], "../etc/secret") << ls.dump();
}

void Append(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path;
  EXPECT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

TEST_F(PutRaceTest, FileWrittenWhileReadIsReadAgain) {
  MakeDirs(Path("one"));
  WriteFile(Path("one/log"), RandomBytes(3 << 20, 7));
  Paused p = RunPaused({"volume", "put", "v", "one", "/one"}, "SNAPVOL_TEST_PAUSE_AFTER_READ",
                       {[&] { Append(Path("one/log"), "appended while put read the file"); }});
  EXPECT_EQ(p.stops, 2);  // the first read saw the append; the second did not
  EXPECT_EQ(p.code, 0) << p.output;
  const std::string stored = Run({"volume", "get", "v", "/one/log", "-"}).out;
  const std::string now = ReadFile(Path("one/log"));
  EXPECT_TRUE(stored == now) << "stored " << stored.size() << " bytes, the file has " << now.size();
  // The attributes of the state that was read.
  nlohmann::json ls = Json({"volume", "ls", "v", "/one/log"});
  struct stat st = Lstat(Path("one/log"));
  ASSERT_EQ(ls.size(), 1u) << ls.dump();
  EXPECT_EQ(ls[0]["mtime_ns"].get<int64_t>(),
            static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec);
}

TEST_F(PutRaceTest, FileWrittenDuringEveryReadFailsThePut) {
  auto append = [&] { Append(Path("src/a"), "more"); };
  Paused p = RunPaused({"volume", "put", "v", "src/a", "/a"}, "SNAPVOL_TEST_PAUSE_AFTER_READ",
                       {append, append, append, append});
  EXPECT_EQ(p.stops, 3);
  EXPECT_EQ(p.code, 1) << p.output;
  EXPECT_THAT(p.output, HasSubstr("local path 'src/a' changed while it was read (it was written "
                                  "to during each of 3 reads); nothing was committed"));
  EXPECT_EQ(Versions("v"), 0u);
}

}  // namespace
}  // namespace snapvol::cli::testing
