// End-to-end tests of the mount verbs of the real `snapvol` binary
// (mount, unmount, commit, reload, status, recover; docs/cli.md "Mounts"):
// real FUSE mounts of a fresh store per test. They need root and /dev/fuse
// and skip otherwise. Every mount a test makes is lazily unmounted in
// TearDown, and every server it started is killed by PID, even when an
// assertion failed half-way.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "cli_harness.h"
#include "e2e/mount_fixture.h"

namespace snapvol::cli::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Polls `done` every 50 ms until it holds or `limit` has passed.
bool Eventually(const std::function<bool()>& done, milliseconds limit) {
  const auto start = steady_clock::now();
  for (;;) {
    if (done()) return true;
    if (steady_clock::now() - start > limit) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// errno of creating `path` for writing, 0 if that worked.
int CreateErrno(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

class CliMountTest : public CliTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "e2e mount tests need root";
    int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0) GTEST_SKIP() << "/dev/fuse is unusable: " << std::strerror(errno);
    ::close(fd);
    CliTest::SetUp();
    Ok({"volume", "create", "vol"});
  }

  void TearDown() override {
    // Newest first: a bind mount inside the store goes before anything else.
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) {
      if (e2e::IsMounted(*it)) ::umount2(it->c_str(), MNT_DETACH);
    }
    for (int pid : pids_) {
      if (e2e::ServerAlive(pid) && Started(pid)) ::kill(pid, SIGKILL);
    }
    // Servers write into the store's state directory until they exit.
    Eventually(
        [&] {
          for (int pid : pids_) {
            if (e2e::ServerAlive(pid)) return false;
          }
          return true;
        },
        milliseconds(5000));
    CliTest::TearDown();
  }

  // Whether `pid` is still a process this test started (a server's or a
  // foreground CLI's command line names this test's directory), not an
  // unrelated one that reuses the number.
  bool Started(int pid) const {
    std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return Contains(cmdline, dir());
  }

  // Runs `snapvol args...` as nobody (uid/gid 65534) with only
  // SNAPVOL_STORE=store() in its environment; returns the exit code and
  // puts stdout and stderr into *out.
  int RunAsNobody(const std::vector<std::string>& args, std::string* out) {
    const std::string log = Path("nobody-" + std::to_string(nobody_runs_++) + ".log");
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0) << log;
    std::vector<std::string> argv = {"snapvol"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::string store_env = "SNAPVOL_STORE=" + store();
    char* env[] = {store_env.data(), nullptr};
    const std::string bin = SNAPVOL_BIN;
    int code = e2e::RunAsNobody([&] {
      if (::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0) return 126;
      ::execve(bin.c_str(), cargv.data(), env);
      return 127;
    });
    ::close(fd);
    *out = ReadFile(log);
    return code;
  }

  // A fresh directory `name` in dir(), registered for cleanup.
  std::string Mountpoint(const std::string& name) {
    const std::string mp = Path(name);
    ::mkdir(mp.c_str(), 0755);
    mounts_.push_back(mp);
    return mp;
  }

  // `snapvol mount vol MP extra...` at a fresh mountpoint `name`; expects
  // success and remembers the server for cleanup. Background commits are
  // off unless `extra` says otherwise.
  std::string MountAt(const std::string& name, std::vector<std::string> extra = {},
                      const std::string& volume = "vol") {
    const std::string mp = Mountpoint(name);
    std::vector<std::string> args = {"mount", volume, mp};
    bool interval = false;
    for (const std::string& e : extra) interval |= e == "--commit-interval";
    if (!interval) extra.insert(extra.end(), {"--commit-interval", "0"});
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = Run(args);
    EXPECT_EQ(r.code, 0) << Describe(r);
    EXPECT_TRUE(Contains(r.out, "Mounted volume '" + volume + "'")) << r.out;
    if (r.code == 0) pids_.push_back(ServerPid(mp));
    return mp;
  }

  int ServerPid(const std::string& mp) {
    nlohmann::json st = Json({"status", mp});
    return st.is_object() && st["pid"].is_number() ? st["pid"].get<int>() : -1;
  }

  // The content of `path` in the volume's newest version ("" if none).
  std::string Head(const std::string& path) {
    RunResult r = Run({"volume", "get", "vol", path, "-"});
    return r.code == 0 ? r.out : "";
  }

  void KillAndWait(int pid) {
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    ASSERT_TRUE(Eventually([&] { return !e2e::ServerAlive(pid); }, milliseconds(10000)));
  }

  std::vector<std::string> mounts_;
  std::vector<int> pids_;
  int nobody_runs_ = 0;
};

// The seed scenario of issue 3, through the CLI only.
TEST_F(CliMountTest, SeedScenario) {
  const std::string a = MountAt("a");
  const std::string b = MountAt("b");
  EXPECT_FALSE(Exists(b + "/bar.txt"));
  ASSERT_TRUE(e2e::WriteFile(a + "/bar.txt", "hello"));
  RunResult r = Run({"commit", a});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "Committed version 1 (1 change)")) << r.out;
  EXPECT_EQ(e2e::ReadFile(a + "/bar.txt"), "hello");
  EXPECT_FALSE(Exists(b + "/bar.txt"));
  r = Run({"reload", b});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "version 1 (was 0)")) << r.out;
  EXPECT_EQ(e2e::ReadFile(b + "/bar.txt"), "hello");
  // Nothing pending any more.
  r = Run({"commit", a});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "Nothing to commit")) << r.out;
}

TEST_F(CliMountTest, StatusTextAndJson) {
  const std::string a = MountAt("a", {"--commit-interval", "2m"});
  ASSERT_TRUE(e2e::WriteFile(a + "/f", "x"));
  RunResult r = Run({"status", a});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "Mountpoint:   " + a + "\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "Volume:       vol (environment main)\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "Version:      0 (read-write)\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "Pending:      1 change\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "Last commit:  none yet\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "Background:   every 2m\n")) << r.out;
  // Passthrough is accepted where the kernel has it (6.9+: this project's
  // CI), and not in use before a file was read through a host copy.
  EXPECT_TRUE(Contains(r.out, "Passthrough:  not in use (accepted by the kernel)\n") ||
              Contains(r.out, "Passthrough:  off\n"))
      << r.out;

  nlohmann::json j = Json({"status", a});
  EXPECT_EQ(j["passthrough_opens"], 0);
  EXPECT_EQ(j["file_cache"]["fills"], 0);
  EXPECT_EQ(j["passthrough"], false) << j;
  EXPECT_EQ(j["passthrough_accepted"], Contains(r.out, "Passthrough:  not in use")) << j;
  EXPECT_EQ(j["volume"], "vol");
  EXPECT_EQ(j["environment"], "main");
  EXPECT_EQ(j["mountpoint"], a);
  EXPECT_EQ(j["version"], 0);
  EXPECT_EQ(j["pending"], 1);
  EXPECT_EQ(j["commit_interval_ms"], 120000);
  EXPECT_EQ(j["read_only"], false);
  EXPECT_TRUE(j["last_commit"].is_null()) << j;
  EXPECT_TRUE(e2e::ServerAlive(j["pid"].get<int>()));
  // --json after the subcommand works the same.
  r = Run({"status", a, "--json"});
  EXPECT_EQ(nlohmann::json::parse(r.out, nullptr, false), j) << Describe(r);

  ASSERT_EQ(Run({"commit", a}).code, 0);
  j = Json({"status", a});
  EXPECT_EQ(j["pending"], 0);
  EXPECT_EQ(j["last_commit"]["ok"], true);
  EXPECT_EQ(j["last_commit"]["version"], 1);
  EXPECT_EQ(j["last_commit"]["trigger"], "explicit");
  r = Run({"status", a});
  EXPECT_TRUE(Contains(r.out, "Last commit:  committed version 1 (1 change), explicit")) << r.out;
  EXPECT_TRUE(Contains(r.out, "Commits:      1, reloads: 0\n")) << r.out;
}

// Durations of --commit-interval reach the server.
TEST_F(CliMountTest, CommitIntervalSyntax) {
  const std::vector<std::pair<std::string, int>> cases = {
      {"500ms", 500}, {"5s", 5000}, {"1h", 3600000}, {"off", 0}, {"0", 0}};
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string mp = MountAt("m" + std::to_string(i), {"--commit-interval", cases[i].first});
    EXPECT_EQ(Json({"status", mp})["commit_interval_ms"], cases[i].second) << cases[i].first;
  }
  // The default is 5 s.
  const std::string mp = Mountpoint("default");
  RunResult r = Run({"mount", "vol", mp});
  ASSERT_EQ(r.code, 0) << Describe(r);
  pids_.push_back(ServerPid(mp));
  EXPECT_EQ(Json({"status", mp})["commit_interval_ms"], 5000);
  EXPECT_TRUE(Contains(r.out, "background commits every 5s")) << r.out;
  EXPECT_TRUE(Contains(Run({"status", mp}).out, "Background:   every 5s\n"));
}

// -e selects the environment; the same volume name elsewhere is another
// volume (S11).
TEST_F(CliMountTest, EnvironmentOption) {
  Ok({"environment", "create", "dev"});
  Ok({"-e", "dev", "volume", "create", "vol"});
  const std::string d = MountAt("d", {"-e", "dev"});
  EXPECT_EQ(Json({"status", d})["environment"], "dev");
  ASSERT_TRUE(e2e::WriteFile(d + "/dev-only", "d"));
  RunResult r = Run({"commit", d});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "volume 'vol' in environment 'dev'")) << r.out;
  EXPECT_EQ(Run({"-e", "dev", "volume", "get", "vol", "/dev-only", "-"}).out, "d");
  EXPECT_EQ(Run({"volume", "get", "vol", "/dev-only", "-"}).code, 1);
  const std::string m = MountAt("m");
  EXPECT_FALSE(Exists(m + "/dev-only"));
}

// --store selects the store the mount serves (and recover looks at).
TEST_F(CliMountTest, StoreOption) {
  const std::string other = Path("other-store");
  Ok({"--store", other, "volume", "create", "solo"});
  const std::string s = MountAt("s", {"--store", other}, "solo");
  EXPECT_EQ(Json({"status", s})["store"], other);
  ASSERT_TRUE(e2e::WriteFile(s + "/f", "other"));
  KillAndWait(ServerPid(s));
  RunResult r = Run({"recover"});
  EXPECT_TRUE(Contains(r.out, "Nothing to recover")) << Describe(r);
  r = Run({"--store", other, "recover"});
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "volume 'solo'")) << r.out;
  EXPECT_EQ(Run({"--store", other, "volume", "get", "solo", "/f", "-"}).out, "other");
  r = Run({"mount", "solo", Mountpoint("t")});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "volume 'solo' in environment 'main' not found")) << r.err;
}

// S3(c) through the CLI: unmount commits what is pending.
TEST_F(CliMountTest, UnmountMakesTheFinalCommit) {
  const std::string a = MountAt("a");
  const int pid = ServerPid(a);
  ASSERT_TRUE(e2e::WriteFile(a + "/last-words", "bye"));
  RunResult r = Run({"unmount", a});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "Unmounted '" + a + "'")) << r.out;
  EXPECT_TRUE(Contains(r.out, "committed version 1 (1 change)")) << r.out;
  EXPECT_FALSE(e2e::IsMounted(a));
  EXPECT_FALSE(e2e::ServerAlive(pid));
  EXPECT_EQ(Head("/last-words"), "bye");
  const std::string c = MountAt("c");
  EXPECT_EQ(e2e::ReadFile(c + "/last-words"), "bye");
  // `umount` is an alias.
  r = Run({"umount", c});
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_FALSE(e2e::IsMounted(c));
}

// A foreground mount serves until SIGTERM, then makes the final commit.
TEST_F(CliMountTest, ForegroundServesUntilSigterm) {
  const std::string a = Mountpoint("a");
  const pid_t cli = Spawn({"mount", "vol", a, "--foreground", "--commit-interval", "0"});
  ASSERT_GT(cli, 0);
  pids_.push_back(cli);
  bool up = Eventually([&] { return Run({"status", a}).code == 0; }, milliseconds(30000));
  if (!up) ::kill(cli, SIGKILL);
  ASSERT_TRUE(up) << SpawnOutput(cli);
  // The server is the CLI process itself.
  EXPECT_EQ(ServerPid(a), cli);
  ASSERT_TRUE(e2e::WriteFile(a + "/fg.txt", "foreground"));
  ASSERT_EQ(::kill(cli, SIGTERM), 0);
  EXPECT_EQ(Wait(cli), 0) << SpawnOutput(cli);
  EXPECT_FALSE(e2e::IsMounted(a));
  EXPECT_EQ(Head("/fg.txt"), "foreground");
  const std::string out = SpawnOutput(cli);
  EXPECT_TRUE(Contains(out, "Mounted volume 'vol' in environment 'main' at '" + a + "'")) << out;
  EXPECT_TRUE(Contains(out, "Unmounted '" + a + "'")) << out;
}

// A foreground mount that cannot mount says why. Provoked by an
// unprivileged user, who cannot mount with allow_other here.
TEST_F(CliMountTest, ForegroundStartupFailureIsExplained) {
  const bool can_open_fuse =
      e2e::RunAsNobody([] { return ::open("/dev/fuse", O_RDWR | O_CLOEXEC) >= 0 ? 0 : 1; }) == 0;
  std::ifstream conf("/etc/fuse.conf");
  std::string line;
  bool user_allow_other = false;
  while (std::getline(conf, line)) user_allow_other |= line.rfind("user_allow_other", 0) == 0;
  if (can_open_fuse && user_allow_other) GTEST_SKIP() << "unprivileged users can mount here";

  const std::string mp = Mountpoint("a");
  ASSERT_EQ(::chown(dir().c_str(), 65534, 65534), 0);
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir())) {
    ASSERT_EQ(::lchown(e.path().c_str(), 65534, 65534), 0) << e.path();
  }
  std::string out;
  EXPECT_EQ(RunAsNobody({"mount", "vol", mp, "--foreground"}, &out), 1) << out;
  EXPECT_FALSE(e2e::IsMounted(mp));
  // The server's reason, then the CLI's summary naming the mount.
  EXPECT_TRUE(Contains(out, "snapvol mount: ")) << out;
  EXPECT_TRUE(Contains(out, "snapvol: serving volume 'vol' in environment 'main' at '" + mp +
                                "' ended with an error"))
      << out;
}

// Any user who can read a mount's root commits, reloads and reads its
// status with the CLI (docs/semantics.md "In-mount control"); unmount needs
// the user who mounted.
TEST_F(CliMountTest, NonRootUsersCommitReloadAndStatus) {
  ASSERT_EQ(::chmod(dir().c_str(), 0755), 0);
  const std::string a = MountAt("a");
  const std::string b = MountAt("b");
  ASSERT_TRUE(e2e::WriteFile(a + "/by-root", "r"));
  std::string out;
  EXPECT_EQ(RunAsNobody({"commit", a}, &out), 0) << out;
  EXPECT_TRUE(Contains(out, "Committed version 1 (1 change)")) << out;
  EXPECT_EQ(RunAsNobody({"reload", b}, &out), 0) << out;
  EXPECT_EQ(e2e::ReadFile(b + "/by-root"), "r");
  EXPECT_EQ(RunAsNobody({"--json", "status", b}, &out), 0) << out;
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  EXPECT_EQ(j.value("version", 0), 1) << out;
  EXPECT_EQ(RunAsNobody({"unmount", a}, &out), 1) << out;
  EXPECT_TRUE(Contains(out, "fusermount3 -u '" + a + "' failed")) << out;
  EXPECT_TRUE(e2e::IsMounted(a));
}

TEST_F(CliMountTest, ReadOnlyMountRefusesWrites) {
  Run({"volume", "put", "vol", "-", "/f.txt"}, "content");
  const std::string a = MountAt("a", {"--read-only"});
  EXPECT_EQ(e2e::ReadFile(a + "/f.txt"), "content");
  EXPECT_EQ(CreateErrno(a + "/new"), EROFS);
  EXPECT_EQ(::mkdir((a + "/dir").c_str(), 0755) == 0 ? 0 : errno, EROFS);
  EXPECT_EQ(Json({"status", a})["read_only"], true);
  RunResult r = Run({"commit", a});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "'" + a + "' is read-only")) << r.err;
  r = Run({"status", a});
  EXPECT_TRUE(Contains(r.out, "Version:      1 (read-only)\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "Background:   off (read-only)\n")) << r.out;
  // A read-only mount still reloads.
  Run({"volume", "put", "vol", "-", "/g.txt"}, "later");
  r = Run({"reload", a});
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(e2e::ReadFile(a + "/g.txt"), "later");
  r = Run({"unmount", a});
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "read-only)")) << r.out;
  EXPECT_FALSE(e2e::IsMounted(a));
}

TEST_F(CliMountTest, VersionShowsAnOldVersion) {
  ASSERT_EQ(Run({"volume", "put", "vol", "-", "/f.txt"}, "one").code, 0);
  ASSERT_EQ(Run({"volume", "put", "vol", "-", "/f.txt", "--force"}, "two").code, 0);
  const std::string old = MountAt("old", {"--version", "1"});
  const std::string now = MountAt("now");
  EXPECT_EQ(e2e::ReadFile(old + "/f.txt"), "one");
  EXPECT_EQ(e2e::ReadFile(now + "/f.txt"), "two");
  nlohmann::json j = Json({"status", old});
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["pinned"], true);
  EXPECT_EQ(j["read_only"], true);
  EXPECT_EQ(CreateErrno(old + "/new"), EROFS);
  RunResult r = Run({"reload", old});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "pinned to version 1")) << r.err;
  r = Run({"mount", "vol", Mountpoint("future"), "--version", "7"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "version 7")) << r.err;
}

// S3(b): with --commit-interval 1s another mount's reload sees a write
// within three intervals, without any explicit commit.
TEST_F(CliMountTest, BackgroundCommitSeenByReload) {
  const std::string a = MountAt("a", {"--commit-interval", "1s"});
  const std::string b = MountAt("b");
  ASSERT_TRUE(e2e::WriteFile(a + "/bg.txt", "background"));
  bool seen = Eventually(
      [&] {
        EXPECT_EQ(Run({"reload", b}).code, 0);
        return e2e::ReadFile(b + "/bg.txt") == "background";
      },
      milliseconds(3000));
  EXPECT_TRUE(seen) << "not committed within 3 intervals";
  nlohmann::json j = Json({"status", a});
  EXPECT_EQ(j["commit_interval_ms"], 1000);
  EXPECT_EQ(j["last_commit"]["trigger"], "background");
}

// S9 through the CLI: after SIGKILL of mount servers `snapvol recover`
// commits what they left, and the dead kernel mounts are cleaned up.
TEST_F(CliMountTest, RecoverAfterSigkill) {
  const std::string a = MountAt("a");
  const std::string b = MountAt("b");
  ASSERT_TRUE(e2e::WriteFile(a + "/from-a", "crash a"));
  ASSERT_TRUE(e2e::WriteFile(b + "/from-b", "crash b"));
  KillAndWait(ServerPid(a));
  KillAndWait(ServerPid(b));
  EXPECT_EQ(Head("/from-a"), "");

  RunResult r = Run({"status", a});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "mount server of '" + a + "' is gone")) << r.err;
  // unmount of a dead mount detaches it (and does not recover).
  r = Run({"unmount", b});
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "Detached '" + b + "'")) << r.out;
  EXPECT_FALSE(e2e::IsMounted(b));

  r = Run({"recover"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "of volume 'vol' in environment 'main' (at '" + a + "')")) << r.out;
  EXPECT_TRUE(Contains(r.out, "(at '" + b + "')")) << r.out;
  EXPECT_TRUE(Contains(r.out, "Detached its dead mount at '" + a + "'")) << r.out;
  EXPECT_FALSE(e2e::IsMounted(a));
  EXPECT_EQ(Head("/from-a"), "crash a");
  EXPECT_EQ(Head("/from-b"), "crash b");
  r = Run({"recover"});
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "Nothing to recover")) << r.out;
  EXPECT_EQ(Json({"recover"}), nlohmann::json::array());
}

// What recovery cannot commit (the volume is gone) is reported, exit 1,
// and left in place.
TEST_F(CliMountTest, RecoverReportsWhatItCannotRecover) {
  const std::string a = MountAt("a");
  ASSERT_TRUE(e2e::WriteFile(a + "/orphan", "x"));
  KillAndWait(ServerPid(a));
  // Its changes are not recovered: deleting the volume needs --force.
  RunResult del = Run({"volume", "delete", "vol", "-y"});
  EXPECT_EQ(del.code, 1) << Describe(del);
  EXPECT_TRUE(Contains(del.err, "has unrecovered changes of a mount")) << del.err;
  ASSERT_EQ(Run({"volume", "delete", "vol", "-y", "--force"}).code, 0);
  std::string id;
  for (int i = 0; i < 2; ++i) {
    RunResult r = Run({"recover"});
    EXPECT_EQ(r.code, 1) << Describe(r);
    EXPECT_TRUE(Contains(r.out, "Could not recover mount")) << r.out;
    EXPECT_TRUE(Contains(r.out, "left in place")) << r.out;
    EXPECT_TRUE(Contains(r.err, "1 crashed mount could not be recovered")) << r.err;
    RunResult j = Run({"--json", "recover"});
    nlohmann::json listed = nlohmann::json::parse(j.out, nullptr, false);
    ASSERT_TRUE(listed.is_array() && listed.size() == 1) << j.out;
    id = listed[0]["mount_id"].get<std::string>();
  }
  // Its changes go into another volume instead, and the state is gone.
  Ok({"volume", "create", "rescue"});
  RunResult into = Run({"recover", "--into", "rescue", id});
  EXPECT_EQ(into.code, 0) << Describe(into);
  EXPECT_EQ(Run({"volume", "get", "rescue", "/orphan", "-"}).out, "x");
  RunResult r = Run({"recover"});
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "Nothing to recover")) << r.out;
  EXPECT_EQ(Run({"recover", "--discard", id}).code, 1);  // no such state any more
}

// A volume that is mounted is not deleted (its pending changes would be
// stranded) unless forced; a dead mount's changes can also be discarded.
TEST_F(CliMountTest, DeletingAMountedVolumeIsRefused) {
  const std::string a = MountAt("a");
  ASSERT_TRUE(e2e::WriteFile(a + "/pending", "p"));
  RunResult r = Run({"volume", "delete", "vol", "-y"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "is mounted")) << r.err;
  EXPECT_TRUE(Contains(r.err, a)) << r.err;
  Ok({"unmount", a});
  EXPECT_EQ(Head("/pending"), "p");
  // Unmounted cleanly: nothing holds it any more.
  Ok({"volume", "delete", "vol", "-y"});

  Ok({"volume", "create", "vol"});
  const std::string b = MountAt("b");
  ASSERT_TRUE(e2e::WriteFile(b + "/dropped", "d"));
  KillAndWait(ServerPid(b));
  Ok({"unmount", b});  // detaches the dead mount
  r = Run({"volume", "delete", "vol", "-y"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  // The mount id is the state directory's name.
  std::string id;
  for (const auto& e : std::filesystem::directory_iterator(store() + "/state/mounts")) {
    if (e.is_directory()) id = e.path().filename().string();
  }
  ASSERT_FALSE(id.empty());
  Ok({"recover", "--discard", id});
  Ok({"volume", "delete", "vol", "-y"});
  r = Run({"recover"});
  EXPECT_TRUE(Contains(r.out, "Nothing to recover")) << r.out;

  // --export writes a dead mount's changes to a local directory.
  Ok({"volume", "create", "vol"});
  const std::string c = MountAt("c");
  ASSERT_EQ(::mkdir((c + "/sub").c_str(), 0755), 0);
  ASSERT_TRUE(e2e::WriteFile(c + "/sub/kept", "exported"));
  KillAndWait(ServerPid(c));
  Ok({"unmount", c});
  Ok({"volume", "delete", "vol", "-y", "--force"});
  std::string dead;
  for (const auto& e : std::filesystem::directory_iterator(store() + "/state/mounts")) {
    if (e.is_directory()) dead = e.path().filename().string();
  }
  ASSERT_FALSE(dead.empty());
  EXPECT_EQ(Run({"recover", "--export", Path("out")}).code, 2);  // needs the MOUNT_ID
  r = Run({"recover", "--export", Path("out"), dead});
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(e2e::ReadFile(Path("out/sub/kept")), "exported");
  EXPECT_EQ(Run({"volume", "get", "recovered-" + dead, "/sub/kept", "-"}).out, "exported");
  r = Run({"recover"});
  EXPECT_TRUE(Contains(r.out, "Nothing to recover")) << r.out;
}

// A failed final commit is exit 1 with the reason; the changes stay for
// `snapvol recover`.
TEST_F(CliMountTest, FailedFinalCommitIsReportedAndRecoverable) {
  const std::string a = MountAt("a");
  ASSERT_TRUE(e2e::WriteFile(a + "/kept", "not lost"));
  // The store cannot take new objects: its objects/ is read-only, even
  // for root.
  const std::string objects = store() + "/objects";
  mounts_.push_back(objects);
  ASSERT_EQ(::mount(objects.c_str(), objects.c_str(), nullptr, MS_BIND, nullptr), 0);
  ASSERT_EQ(::mount(nullptr, objects.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr),
            0)
      << std::strerror(errno);
  // An explicit commit fails, and status shows why; nothing is lost.
  RunResult r = Run({"commit", a});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "commit of mount '" + a + "' failed")) << r.err;
  nlohmann::json st = Json({"status", a});
  EXPECT_EQ(st["pending"], 1);
  EXPECT_EQ(st["last_commit"]["ok"], false);
  EXPECT_TRUE(Contains(st["last_commit"].value("error", ""), "Read-only file system")) << st;
  r = Run({"status", a});
  EXPECT_TRUE(Contains(r.out, "Last commit:  FAILED (explicit): ")) << r.out;

  r = Run({"unmount", a});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "'" + a + "'")) << r.err;
  EXPECT_TRUE(Contains(r.err, "could not be committed")) << r.err;
  EXPECT_TRUE(Contains(r.err, "snapvol recover")) << r.err;
  EXPECT_FALSE(e2e::IsMounted(a));
  ASSERT_EQ(::umount2(objects.c_str(), 0), 0);
  EXPECT_EQ(Head("/kept"), "");
  r = Run({"--json", "recover"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_array() && j.size() == 1) << r.out;
  EXPECT_EQ(j[0]["committed"], true);
  EXPECT_EQ(j[0]["volume"], "vol");
  EXPECT_EQ(j[0]["mountpoint"], a);
  EXPECT_EQ(j[0]["version"], 1);
  EXPECT_EQ(Head("/kept"), "not lost");
}

TEST_F(CliMountTest, BadInput) {
  const std::string free_dir = Mountpoint("free");
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"mount", "vol", free_dir, "--commit-interval", "5"},
       2,
       "--commit-interval: invalid "
       "duration '5': missing unit"},
      {{"mount", "vol", free_dir, "--commit-interval", "5x"}, 2, "unknown unit 'x'"},
      {{"mount", "vol", free_dir, "--commit-interval", "-1s"}, 2, "invalid duration '-1s'"},
      {{"mount", "vol", free_dir, "--commit-interval", "1.5s"}, 2, "fractions"},
      {{"mount", "vol", free_dir, "--commit-interval", "soon"}, 2, "invalid duration 'soon'"},
      {{"mount", "vol", free_dir, "--commit-interval", "99999999999999999999s"}, 2, "range"},
      {{"mount", "vol", free_dir, "--version", "0"}, 2, "--version must be 1 or more"},
      {{"mount", "vol", free_dir, "--version", "x"}, 2, "--version"},
      {{"mount", "nope", free_dir}, 1, "volume 'nope' in environment 'main' not found"},
      {{"-e", "nowhere", "mount", "vol", free_dir}, 1, "environment 'nowhere' not found"},
      {{"mount", "bad name", free_dir}, 2, "invalid volume name 'bad name'"},
      {{"mount", "vol", Path("missing")}, 1, "'" + Path("missing") + "'"},
      {{"unmount", free_dir}, 1, "'" + free_dir + "' is not a snapvol mount"},
      {{"commit", free_dir}, 1, "'" + free_dir + "' is not a snapvol mount"},
      {{"reload", free_dir}, 1, "'" + free_dir + "' is not a snapvol mount"},
      {{"status", free_dir}, 1, "'" + free_dir + "' is not a snapvol mount"},
      {{"status", Path("missing")}, 1, "'" + Path("missing") + "'"},
      {{"mount"}, 2, "VOLUME is required"},
      {{"mount", "vol"}, 2, "MOUNTPOINT is required"},
      {{"status"}, 2, "MOUNTPOINT is required"},
      {{"unmount", free_dir, "extra"}, 2, "extra"},
      {{"recover", "extra"}, 2, "extra"},
      {{"mount", "vol", free_dir, "--bogus"}, 2, "--bogus"},
  };
  for (const Case& c : cases) {
    RunResult r = Run(c.args);
    EXPECT_EQ(r.code, c.code) << ::testing::PrintToString(c.args) << "\n" << Describe(r);
    EXPECT_TRUE(Contains(r.err, c.message))
        << ::testing::PrintToString(c.args) << " should say: " << c.message << "\n"
        << Describe(r);
    EXPECT_FALSE(e2e::IsMounted(free_dir)) << ::testing::PrintToString(c.args);
  }
  // A mountpoint that already holds a snapvol mount is refused.
  const std::string a = MountAt("a");
  RunResult r = Run({"mount", "vol", a});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "'" + a + "' already holds a snapvol mount")) << r.err;
}

// `snapvol` starts the `snapvol-mount` beside its own executable (not the
// one of the build tree, not one on $PATH).
TEST_F(CliMountTest, ServerBinaryBesideTheExecutable) {
  const std::string bin = Path("bin");
  MakeDirs(bin);
  std::filesystem::copy_file(SNAPVOL_BIN, bin + "/snapvol");
  // A stand-in server that reports a startup error on the ready pipe (fd 3).
  WriteFile(bin + "/snapvol-mount",
            "#!/bin/sh\necho 'ERR 12 0 stand-in server beside snapvol' >&3\n", 0755);
  const char* saved = std::getenv("SNAPVOL_BIN");
  const std::string restore = saved != nullptr ? saved : "";
  ::setenv("SNAPVOL_BIN", (bin + "/snapvol").c_str(), 1);
  RunResult r = Run({"mount", "vol", Mountpoint("m")});
  if (saved != nullptr) {
    ::setenv("SNAPVOL_BIN", restore.c_str(), 1);
  } else {
    ::unsetenv("SNAPVOL_BIN");
  }
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "stand-in server beside snapvol")) << Describe(r);
}

}  // namespace
}  // namespace snapvol::cli::testing
