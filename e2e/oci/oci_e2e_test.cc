// OCI runtime hooks end to end (label e2e): real runc and crun containers on
// a busybox-static rootfs, snapvol-hook as their createRuntime and poststop
// hook, and one snapvol-agent for the whole binary (started once, stopped at
// the end, by PID). Skips where the runtimes, root or /dev/fuse are missing.
//
// crun 1.8.1 refuses a hybrid cgroup host; the binary therefore runs in a
// private mount namespace with the cgroup2 mount hidden (the agent, hooks
// and runtimes it starts inherit it).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using json = nlohmann::json;
namespace stdfs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool OnPath(const std::string& tool) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    if (::access((std::string(dir) + "/" + tool).c_str(), X_OK) == 0) return true;
  }
  return false;
}

struct Ran {
  int code = -1;
  std::string out;  // stdout and stderr
};

// Runs argv with stdin /dev/null and stdout+stderr to a file (a detached
// container keeps its runtime's stdio open: a pipe would never end).
Ran RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
               int timeout_s = 120) {
  char out_path[] = "/tmp/oci-e2e-out-XXXXXX";
  int out = ::mkstemp(out_path);
  Ran r;
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  for (;;) {
    pid_t got = ::waitpid(pid, &status, WNOHANG);
    if (got == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.out = "TIMEOUT\n";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::close(out);
  r.out += ReadAll(out_path);
  ::unlink(out_path);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string Describe(const Ran& r) { return "exit " + std::to_string(r.code) + ": " + r.out; }

// The shared world: rootfs, store, agent.
class OciWorld : public ::testing::Environment {
 public:
  void SetUp() override {
    ready_ = false;
    if (::geteuid() != 0) return Skip("needs root");
    if (::access("/dev/fuse", R_OK | W_OK) != 0) return Skip("needs /dev/fuse");
    if (!stdfs::exists("/bin/busybox")) return Skip("needs busybox-static");
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      return Skip(std::string("cannot make a private mount namespace: ") + std::strerror(errno));
    }
    ::umount2("/sys/fs/cgroup/unified", MNT_DETACH);  // hybrid hosts: see the file comment
    char tmpl[] = "/tmp/snapvol-oci-e2e-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    ::chmod(dir_.c_str(), 0700);
    rootfs_ = dir_ + "/rootfs";
    stdfs::create_directories(rootfs_ + "/bin");
    stdfs::create_directories(rootfs_ + "/etc");
    stdfs::create_directories(rootfs_ + "/proc");
    stdfs::create_directories(rootfs_ + "/dev");
    stdfs::create_directories(rootfs_ + "/sys");
    stdfs::copy_file("/bin/busybox", rootfs_ + "/bin/busybox");
    for (const char* applet : {"sh", "cat", "echo", "ls", "sleep", "sync", "mkdir", "rm", "dd"}) {
      stdfs::create_symlink("busybox", rootfs_ + "/bin/" + applet);
    }
    stdfs::copy_file(SNAPVOL_XATTR_TOOL, rootfs_ + "/bin/xattr");
    std::ofstream(rootfs_ + "/etc/a-file") << "in the image\n";
    store_ = dir_ + "/store";
    socket_ = dir_ + "/run/agent.sock";
    stdfs::create_directories(store_);
    ::chmod(store_.c_str(), 0700);
    StartAgent();
    ready_ = agent_pid_ > 0;
  }

  void TearDown() override {
    StopAgent();
    // SNAPVOL_OCI_KEEP=1 keeps the store, logs and bundles for a look.
    const char* keep = std::getenv("SNAPVOL_OCI_KEEP");
    if (!dir_.empty() && (keep == nullptr || *keep != '1')) stdfs::remove_all(dir_);
  }

  void StartAgent() {
    agent_pid_ = ::fork();
    if (agent_pid_ == 0) {
      const std::string log = dir_ + "/agent.log";
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl(SNAPVOL_AGENT_BIN, "snapvol-agent", "--store", store_.c_str(), "--socket",
              socket_.c_str(), "--server-binary", SNAPVOL_MOUNT_SERVER_PATH,
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 500 && !stdfs::exists(socket_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  void StopAgent() {
    if (agent_pid_ <= 0) return;
    ::kill(agent_pid_, SIGTERM);
    int status;
    ::waitpid(agent_pid_, &status, 0);
    agent_pid_ = -1;
  }

  bool ready() const { return ready_; }
  const std::string& skip() const { return skip_; }
  const std::string& dir() const { return dir_; }
  const std::string& rootfs() const { return rootfs_; }
  const std::string& store() const { return store_; }
  const std::string& socket() const { return socket_; }
  std::string AgentLog() const { return ReadAll(dir_ + "/agent.log"); }

 private:
  void Skip(const std::string& why) { skip_ = why; }

  bool ready_ = false;
  std::string skip_, dir_, rootfs_, store_, socket_;
  pid_t agent_pid_ = -1;
};

OciWorld* world = nullptr;

class OciTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!world->ready()) GTEST_SKIP() << world->skip();
    runtime_ = GetParam();
    if (!OnPath(runtime_)) GTEST_SKIP() << runtime_ << " is not installed";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    name_ = std::string(info->name());
    for (char& c : name_) {
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
    }
    // Unique per run of the test (--gtest_repeat keeps the world's store).
    static int runs = 0;
    name_ = name_.substr(0, 40) + "-" + std::to_string(++runs);
    state_root_ = world->dir() + "/" + runtime_ + "-state";
    stdfs::create_directories(state_root_);
  }

  void TearDown() override {
    for (const std::string& id : containers_) {
      RunCommand({runtime_, "--root", state_root_, "kill", id, "KILL"});
      RunCommand({runtime_, "--root", state_root_, "delete", "-f", id});
    }
  }

  // A bundle whose container runs `args` with `annotations`, hooked to the
  // agent at `socket` (default: the world's).
  std::string Bundle(const std::string& id, const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& annotations,
                     const std::string& socket = "") {
    const std::string bundle = world->dir() + "/bundles/" + id;
    stdfs::create_directories(bundle);
    json hook = {{"path", SNAPVOL_HOOK_BIN},
                 {"args", {"snapvol-hook"}},
                 {"env", {"SNAPVOL_AGENT_SOCKET=" + (socket.empty() ? world->socket() : socket)}}};
    json config = {
        {"ociVersion", "1.0.2"},
        {"process",
         {{"terminal", false},
          {"user", {{"uid", 0}, {"gid", 0}}},
          {"args", args},
          {"env", {"PATH=/bin"}},
          {"cwd", "/"},
          {"capabilities",
           {{"bounding", {"CAP_KILL", "CAP_CHOWN"}},
            {"effective", {"CAP_KILL", "CAP_CHOWN"}},
            {"permitted", {"CAP_KILL", "CAP_CHOWN"}}}},
          {"noNewPrivileges", true}}},
        {"root", {{"path", world->rootfs()}, {"readonly", false}}},
        {"hostname", "snapvol"},
        {"mounts",
         {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
          {{"destination", "/dev"},
           {"type", "tmpfs"},
           {"source", "tmpfs"},
           {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}}}},
        {"annotations", WithHookLog(annotations)},
        {"hooks", {{"createRuntime", {hook}}, {"poststop", {hook}}}},
        {"linux",
         {{"namespaces",
           {{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}}}}}};
    std::ofstream(bundle + "/config.json") << config.dump(1);
    return bundle;
  }

  // crun discards a hook's stderr unless this annotation names a file.
  std::map<std::string, std::string> WithHookLog(std::map<std::string, std::string> annotations) {
    if (runtime_ == "crun") annotations["run.oci.hooks.stderr"] = HookLog();
    return annotations;
  }
  std::string HookLog() const { return state_root_ + "/hooks.stderr"; }

  std::string Id(const std::string& role) {
    std::string id = runtime_ + "-" + name_ + "-" + role;
    containers_.push_back(id);
    return id;
  }
  std::string Volume(const std::string& role = "v") { return runtime_ + "-" + name_ + "-" + role; }

  // Runs a container to its end (createRuntime, the process, poststop).
  Ran RunContainer(const std::string& id, const std::string& bundle) {
    ::unlink(HookLog().c_str());
    Ran r = RunCommand({runtime_, "--root", state_root_, "run", "--bundle", bundle, id});
    r.out += ReadAll(HookLog());
    return r;
  }
  // A container that only sleeps, with volume `vol` at /data (created if
  // missing) and no background commits.
  Ran StartIdle(const std::string& id, const std::string& vol) {
    return Start(id, Bundle(id, {"sleep", "600"},
                            {{"snapvol.io/volumes", vol + ":/data"},
                             {"snapvol.io/create-if-missing", "true"},
                             {"snapvol.io/commit-interval", "0"}}));
  }
  Ran Start(const std::string& id, const std::string& bundle) {
    return RunCommand({runtime_, "--root", state_root_, "run", "-d", "--bundle", bundle, id});
  }
  Ran Exec(const std::string& id, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {runtime_, "--root", state_root_, "exec", id};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  // Kills and deletes a detached container (delete runs poststop).
  Ran Stop(const std::string& id, const std::string& signal = "KILL") {
    RunCommand({runtime_, "--root", state_root_, "kill", id, signal});
    for (int i = 0; i < 500; ++i) {
      Ran st = RunCommand({runtime_, "--root", state_root_, "state", id});
      if (st.out.find("\"stopped\"") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return RunCommand({runtime_, "--root", state_root_, "delete", id});
  }

  // A file of the volume's head, through the CLI; nullopt if absent.
  std::optional<std::string> Head(const std::string& volume, const std::string& path) {
    Ran r =
        RunCommand({SNAPVOL_BIN, "--store", world->store(), "volume", "get", volume, path, "-"});
    if (r.code != 0) return std::nullopt;
    return r.out;
  }

  // Nothing of a container is left: no snapvol mount, no mount state, no
  // server for it.
  void ExpectNothingLeft(const std::string& id) {
    // This test's volumes only: other mounts may exist on the host.
    EXPECT_EQ(ReadAll("/proc/self/mountinfo").find("snapvol:main/" + runtime_ + "-" + name_),
              std::string::npos);
    std::error_code ec;
    for (const auto& e : stdfs::directory_iterator(world->store() + "/state/mounts", ec)) {
      std::string info = ReadAll(e.path().string() + "/mount.json");
      EXPECT_EQ(info.find("\"" + id + "\""), std::string::npos) << info;
    }
    // A server whose connection went ends by itself, soon.
    Ran ps;
    for (int i = 0; i < 250; ++i) {
      ps = RunCommand({"sh", "-c", "ps -eo args | grep '[s]napvol-mount' || true"});
      if (ps.out.find("container " + id) == std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(ps.out.find("container " + id), std::string::npos) << ps.out;
  }

  std::string runtime_, name_, state_root_;
  std::vector<std::string> containers_;
};

TEST_P(OciTest, AWriterCommitsWhenItStops) {
  const std::string vol = Volume();
  const std::string id = Id("w");
  const std::string bundle =
      Bundle(id, {"sh", "-c", "echo written > /data/hello && ls /data"},
             {{"snapvol.io/volumes", vol + ":/data"}, {"snapvol.io/create-if-missing", "true"}});
  Ran r = RunContainer(id, bundle);
  ASSERT_EQ(r.code, 0) << Describe(r) << world->AgentLog();
  EXPECT_NE(r.out.find("hello"), std::string::npos) << r.out;
  EXPECT_EQ(Head(vol, "/hello"), "written\n");
  ExpectNothingLeft(id);
}

// S1/S4 from inside containers: a running reader does not see a writer's
// commit until it reloads (xattr), then does.
TEST_P(OciTest, AReaderSeesCommitsAfterItReloads) {
  const std::string vol = Volume();
  const std::string reader = Id("r");
  ASSERT_EQ(StartIdle(reader, vol).code, 0);
  EXPECT_NE(Exec(reader, {"cat", "/data/news"}).code, 0)
      << Exec(reader, {"sh", "-c", "cat /data/news; grep data /proc/mounts"}).out;

  const std::string writer = Id("w");
  Ran w = RunContainer(writer, Bundle(writer, {"sh", "-c", "echo fresh > /data/news"},
                                      {{"snapvol.io/volumes", vol + ":/data"}}));
  ASSERT_EQ(w.code, 0) << Describe(w);
  EXPECT_EQ(Head(vol, "/news"), "fresh\n");
  EXPECT_NE(Exec(reader, {"cat", "/data/news"}).code, 0);  // still the old snapshot
  Ran reload = Exec(reader, {"xattr", "set", "/data", "user.snapvol.reload", "1"});
  ASSERT_EQ(reload.code, 0) << Describe(reload);
  Ran seen = Exec(reader, {"cat", "/data/news"});
  EXPECT_EQ(seen.code, 0) << Describe(seen);
  EXPECT_EQ(seen.out, "fresh\n");
  // An in-container commit too: a change, then `sync /data`.
  ASSERT_EQ(Exec(reader, {"sh", "-c", "echo mine > /data/mine && sync /data"}).code, 0);
  EXPECT_EQ(Head(vol, "/mine"), "mine\n");
  Ran stopped = Stop(reader);
  EXPECT_EQ(stopped.code, 0) << Describe(stopped);
  ExpectNothingLeft(reader);
}

// snapvol.io/commit-interval: a running container's changes land without
// any commit from inside; snapvol.io/version: an old version, read-only.
TEST_P(OciTest, BackgroundCommitsAndPinnedVersions) {
  const std::string vol = Volume();
  const std::string id = Id("bg");
  ASSERT_EQ(Start(id, Bundle(id, {"sh", "-c", "echo one > /data/f && sleep 600"},
                             {{"snapvol.io/volumes", vol + ":/data"},
                              {"snapvol.io/create-if-missing", "true"},
                              {"snapvol.io/commit-interval", "200ms"}}))
                .code,
            0);
  bool landed = false;
  for (int i = 0; i < 250 && !landed; ++i) {
    landed = Head(vol, "/f") == std::optional<std::string>("one\n");
    if (!landed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(landed) << "no background commit while the container ran";
  ASSERT_EQ(Exec(id, {"sh", "-c", "echo two > /data/f"}).code, 0);
  ASSERT_EQ(Stop(id).code, 0);
  EXPECT_EQ(Head(vol, "/f"), "two\n");
  const std::string pinned = Id("pin");
  Ran old = RunContainer(
      pinned, Bundle(pinned, {"sh", "-c", "cat /data/f; echo x > /data/g || echo refused"},
                     {{"snapvol.io/volumes", vol + ":/data"}, {"snapvol.io/version", "1"}}));
  ASSERT_EQ(old.code, 0) << Describe(old);
  EXPECT_NE(old.out.find("one"), std::string::npos) << old.out;
  EXPECT_NE(old.out.find("refused"), std::string::npos) << old.out;
  EXPECT_FALSE(Head(vol, "/g").has_value());
}

// S9: a container killed while it writes still gets its final commit.
TEST_P(OciTest, AKilledContainerStillCommits) {
  const std::string vol = Volume();
  const std::string id = Id("k");
  ASSERT_EQ(Start(id, Bundle(id,
                             {"sh", "-c",
                              "echo before > /data/first; i=0; while true; do i=$((i+1)); "
                              "echo $i >> /data/log; done"},
                             {{"snapvol.io/volumes", vol + ":/data"},
                              {"snapvol.io/create-if-missing", "true"},
                              {"snapvol.io/commit-interval", "0"}}))
                .code,
            0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Ran stopped = Stop(id, "KILL");
  EXPECT_EQ(stopped.code, 0) << Describe(stopped) << world->AgentLog();
  EXPECT_EQ(Head(vol, "/first"), "before\n");
  // The log as the mount showed it when the container died: 1, 2, ... N,
  // every line whole but perhaps the last.
  std::optional<std::string> log = Head(vol, "/log");
  ASSERT_TRUE(log.has_value());
  std::istringstream lines(*log);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    if (lines.eof() && !line.empty()) break;  // a last line cut short
    EXPECT_EQ(line, std::to_string(n + 1));
    ++n;
  }
  EXPECT_GT(n, 10) << *log;
  ExpectNothingLeft(id);
}

// A final commit that cannot land (the volume was deleted with --force
// under the running container): the poststop hook fails and says so, and
// the changes stay for `snapvol recover --into`.
TEST_P(OciTest, AFailedFinalCommitFailsPoststopAndKeepsTheChanges) {
  const std::string vol = Volume();
  const std::string id = Id("f");
  ASSERT_EQ(StartIdle(id, vol).code, 0);
  ASSERT_EQ(Exec(id, {"sh", "-c", "echo precious > /data/keep"}).code, 0);
  Ran deleted = RunCommand(
      {SNAPVOL_BIN, "--store", world->store(), "volume", "delete", vol, "-y", "--force"});
  ASSERT_EQ(deleted.code, 0) << Describe(deleted);
  Ran stopped = Stop(id);
  // The runtime-spec makes a failed poststop a warning (the container is
  // deleted anyway): the hook's message is what the runtime logs.
  std::string hook_out = stopped.out + ReadAll(HookLog());
  EXPECT_NE(hook_out.find("did not land"), std::string::npos) << hook_out;
  EXPECT_NE(hook_out.find("snapvol recover"), std::string::npos) << hook_out;
  // The changes are still there, and go into another volume.
  std::string mount_id;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(world->store() + "/state/mounts", ec)) {
    if (ReadAll(e.path().string() + "/mount.json").find("\"" + id + "\"") != std::string::npos) {
      mount_id = e.path().filename().string();
    }
  }
  ASSERT_FALSE(mount_id.empty());
  const std::string rescue = vol + "-rescued";
  ASSERT_EQ(RunCommand({SNAPVOL_BIN, "--store", world->store(), "volume", "create", rescue}).code,
            0);
  Ran recovered =
      RunCommand({SNAPVOL_BIN, "--store", world->store(), "recover", "--into", rescue, mount_id});
  ASSERT_EQ(recovered.code, 0) << Describe(recovered);
  EXPECT_EQ(Head(rescue, "/keep"), "precious\n");
}

// The agent may restart while containers run: their mounts keep serving
// and still commit at stop.
TEST_P(OciTest, TheAgentRestartsUnderRunningContainers) {
  const std::string vol = Volume();
  const std::string id = Id("a");
  ASSERT_EQ(StartIdle(id, vol).code, 0);
  world->StopAgent();
  world->StartAgent();
  ASSERT_EQ(Exec(id, {"sh", "-c", "echo still > /data/after-restart"}).code, 0);
  Ran stopped = Stop(id);
  EXPECT_EQ(stopped.code, 0) << Describe(stopped) << world->AgentLog();
  EXPECT_EQ(Head(vol, "/after-restart"), "still\n");
}

// Bad input: the hook says why in one line, the runtime refuses to start
// the container, and nothing is left behind.
TEST_P(OciTest, BadInputRefusesTheContainerAndLeavesNothing) {
  const std::string vol = Volume();
  struct Case {
    std::map<std::string, std::string> annotations;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {{{"snapvol.io/volumes", vol + "-absent:/data"}}, "not found"},
      {{{"snapvol.io/volumes", vol + ":data"}, {"snapvol.io/create-if-missing", "true"}},
       "must be absolute"},
      {{{"snapvol.io/volumes", vol + ":/a/../b"}, {"snapvol.io/create-if-missing", "true"}}, ".."},
      {{{"snapvol.io/volumes", vol + ";/data"}}, "snapvol.io/volumes"},
      {{{"snapvol.io/volumes", vol + ":/etc/a-file"}, {"snapvol.io/create-if-missing", "true"}},
       "not a directory"},
      {{{"snapvol.io/volumes", vol + ":/data"},
        {"snapvol.io/environment", "nowhere"},
        {"snapvol.io/create-if-missing", "true"}},
       "nowhere"},
      {{{"snapvol.io/volumes", vol + ":/ok," + vol + "-absent:/data"},
        {"snapvol.io/create-if-missing", "false"}},
       "not found"},
      // The first volume is mounted and served before the second fails:
      // undone, its server ends.
      {{{"snapvol.io/volumes", vol + ":/served," + vol + "-2:/etc/a-file/x"},
        {"snapvol.io/create-if-missing", "true"}},
       "not a directory"},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string id = Id("bad" + std::to_string(n++));
    Ran r = RunContainer(id, Bundle(id, {"echo", "should not run"}, c.annotations));
    EXPECT_NE(r.code, 0) << Describe(r);
    EXPECT_EQ(r.out.find("should not run"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("snapvol-hook"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.expect << " in: " << r.out;
    RunCommand({runtime_, "--root", state_root_, "delete", "-f", id});
    ExpectNothingLeft(id);
  }
  // The image is as it was: no directory left where a mount was refused.
  EXPECT_FALSE(stdfs::exists(world->rootfs() + "/b"));
  EXPECT_FALSE(stdfs::exists(world->rootfs() + "/ok"));
  EXPECT_FALSE(stdfs::exists(world->rootfs() + "/served"));
  EXPECT_EQ(ReadAll(world->rootfs() + "/etc/a-file"), "in the image\n");
}

TEST_P(OciTest, ANonRunningAgentIsNamedWithHowToStartIt) {
  const std::string id = Id("noagent");
  Ran r = RunContainer(
      id, Bundle(id, {"echo", "should not run"}, {{"snapvol.io/volumes", Volume() + ":/data"}},
                 world->dir() + "/no-agent.sock"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("not running"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("systemctl start snapvol-agent.socket"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("should not run"), std::string::npos) << r.out;
}

// A container without snapvol annotations is not the hook's business.
TEST_P(OciTest, ContainersWithoutAnnotationsAreLeftAlone) {
  const std::string id = Id("plain");
  Ran r = RunContainer(
      id, Bundle(id, {"echo", "plain"}, {{"other", "x"}}, world->dir() + "/no-agent.sock"));
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find("plain"), std::string::npos);
}

// podman reads the hooks.d file (hooks/oci-hooks.d/snapvol.json, with this
// build's paths): a container with the annotation gets the volume, and a
// second container sees what the first committed.
TEST(PodmanTest, HooksDirVolumesAcrossContainers) {
  if (!world->ready()) GTEST_SKIP() << world->skip();
  if (!OnPath("podman")) GTEST_SKIP() << "podman is not installed";
  const std::string dir = world->dir() + "/podman";
  stdfs::create_directories(dir + "/hooks.d");
  std::ifstream in(SNAPVOL_HOOKS_JSON);
  json hook = json::parse(in);
  hook["hook"]["path"] = SNAPVOL_HOOK_BIN;
  hook["hook"]["env"] = {"SNAPVOL_AGENT_SOCKET=" + world->socket()};
  std::ofstream(dir + "/hooks.d/snapvol.json") << hook.dump(1);
  const std::vector<std::string> podman = {"podman",
                                           "--root",
                                           dir + "/storage",
                                           "--runroot",
                                           dir + "/runroot",
                                           "--storage-driver",
                                           "vfs",
                                           "--cgroup-manager",
                                           "cgroupfs",
                                           "--events-backend",
                                           "file"};
  auto cmd = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = podman;
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  };
  Ran imported = RunCommand({"sh", "-c", "tar -C '" + world->rootfs() + "' -c . | " + [&] {
                               std::string line;
                               for (const std::string& a : cmd({"import", "-", "snapvol-busybox"}))
                                 line += a + " ";
                               return line;
                             }()});
  ASSERT_EQ(imported.code, 0) << Describe(imported);
  // Root here may not raise resource limits (no CAP_SYS_RESOURCE); podman's
  // defaults would.
  auto run = [&](const std::string& script) {
    return RunCommand(
        cmd({"run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit",
             "nproc=1024:1024", "--hooks-dir", dir + "/hooks.d", "--annotation",
             "snapvol.io/volumes=podvol:/data", "--annotation", "snapvol.io/create-if-missing=true",
             "snapvol-busybox", "sh", "-c", script}));
  };
  Ran first = run("echo from-podman > /data/p && grep ' /data fuse.snapvol' /proc/mounts");
  ASSERT_EQ(first.code, 0) << Describe(first) << world->AgentLog();
  Ran second = run("cat /data/p && echo again >> /data/p");
  ASSERT_EQ(second.code, 0) << Describe(second);
  EXPECT_NE(second.out.find("from-podman"), std::string::npos) << second.out;
  Ran head =
      RunCommand({SNAPVOL_BIN, "--store", world->store(), "volume", "get", "podvol", "/p", "-"});
  EXPECT_EQ(head.out, "from-podman\nagain\n");
  // A container without the annotation is not touched.
  Ran plain = RunCommand(cmd({"run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024",
                              "--ulimit", "nproc=1024:1024", "--hooks-dir", dir + "/hooks.d",
                              "snapvol-busybox", "sh", "-c", "! grep -q snapvol /proc/mounts"}));
  EXPECT_EQ(plain.code, 0) << Describe(plain);
  RunCommand(cmd({"rmi", "-f", "snapvol-busybox"}));
}

// systemd socket activation (hooks/systemd/snapvol-agent.socket): the agent
// serves the listening socket it gets as descriptor 3 when LISTEN_PID is its
// pid and LISTEN_FDS is 1.
TEST(AgentActivationTest, ServesTheSocketItIsGiven) {
  if (!world->ready()) GTEST_SKIP() << world->skip();
  const std::string path = world->dir() + "/activated.sock";
  int listener = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
  ASSERT_GE(listener, 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  ASSERT_EQ(::bind(listener, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener, 8), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(listener, 3);
    const std::string me = "LISTEN_PID=" + std::to_string(::getpid());
    ::putenv(const_cast<char*>(me.c_str()));
    ::putenv(const_cast<char*>("LISTEN_FDS=1"));
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 2);
    // No --socket: the default path must not be touched.
    ::execl(SNAPVOL_AGENT_BIN, "snapvol-agent", "--store", world->store().c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(listener);
  int sock = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
  ASSERT_EQ(::connect(sock, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string ping = R"({"op":"ping"})";
  ASSERT_EQ(::send(sock, ping.data(), ping.size(), 0), static_cast<ssize_t>(ping.size()));
  char reply[4096];
  ssize_t n = ::recv(sock, reply, sizeof(reply), 0);
  ASSERT_GT(n, 0);
  EXPECT_NE(std::string(reply, static_cast<size_t>(n)).find("\"code\":0"), std::string::npos)
      << std::string(reply, static_cast<size_t>(n));
  ::close(sock);
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

INSTANTIATE_TEST_SUITE_P(Runtimes, OciTest, ::testing::Values("runc", "crun"),
                         [](const auto& info) { return info.param; });

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  world = new OciWorld;
  ::testing::AddGlobalTestEnvironment(world);
  return RUN_ALL_TESTS();
}
