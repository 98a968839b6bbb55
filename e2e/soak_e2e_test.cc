// Soak test (issue 12): many committers of one volume at once — `snapvol
// volume put`/`rm` processes and mounts — while mount servers are SIGKILLed
// at random moments and recovered. At the end every acknowledged change
// (a CLI exit 0, a mount operation that returned 0: S9 keeps what reached
// the write layer) must be in the head with exactly its last content,
// nothing a committer removed may be there, and `snapvol store fsck` must
// pass.
//
// Each committer owns a subtree (/cli-<i> or /m-<i>) and keeps a model of
// it, so the per-path merge of concurrent commits is deterministic. The
// operation a kill interrupts is unknown to have happened or not; after
// recovery the committer repeats it on a fresh mount (idempotently), so the
// expected state stays exact.
//
//   SNAPVOL_SOAK_COMMITTERS  committers (default 8), even ones mount, odd
//                            ones run the CLI
//   SNAPVOL_SOAK_COMMITS     iterations per committer (default 10): one
//                            commit for a CLI committer, one new file plus
//                            maybe an overwrite, rename, delete and an
//                            explicit commit for a mount committer
//   SNAPVOL_SOAK_SEED        the seed (default: the time; printed)
//   SNAPVOL_SOAK_PAUSE_MS    each committer pauses 0..2x this long before
//                            an iteration (default 300), so the run lasts
//                            long enough for kills between operations
//   SNAPVOL_SOAK_KILL_MIN_MS, SNAPVOL_SOAK_KILL_MAX_MS
//                            the killer's gap between two kills (default
//                            200..2000)
//   SNAPVOL_SOAK_STALL_S     no operation finished for this long: a hang;
//                            everything is killed and the test fails
//                            (default 300)
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "driver/fs/fuse_connection.h"
#include "e2e/mount_fixture.h"
#include "tests/testing/env_number.h"

extern char** environ;

namespace snapvol::e2e {
namespace {

namespace stdfs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testing::EnvNumber;

// A file's content, regenerated from (size, seed) when it is checked: the
// models of a full run would not fit in memory.
struct Content {
  size_t size = 0;
  uint64_t seed = 0;
};

std::string Bytes(const Content& c) {
  std::string out(c.size, '\0');
  std::mt19937_64 rng(c.seed);
  for (size_t i = 0; i < out.size(); i += 8) {
    const uint64_t v = rng();
    std::memcpy(out.data() + i, &v, std::min<size_t>(8, out.size() - i));
  }
  return out;
}

// Mostly small files, some past the inline limit, a few chunked ones.
Content RandomContent(std::mt19937_64& rng) {
  const uint64_t r = rng() % 100;
  const size_t limit = r < 50 ? 4 << 10 : r < 80 ? 256 << 10 : r < 95 ? 3 << 19 : 4 << 20;
  return {static_cast<size_t>(rng() % (limit + 1)), rng()};
}

double Seconds(steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

class SoakTest : public MountFixture {
 protected:
  void TearDown() override {
    // Every mount and server this test started, even if it failed half-way.
    std::vector<std::string> mounts;
    std::vector<int> pids;
    {
      std::lock_guard<std::mutex> l(mu_);
      mounts = all_mounts_;
      pids = all_pids_;
    }
    for (int pid : pids) {
      if (ServerAlive(pid)) ::kill(pid, SIGKILL);
    }
    for (const std::string& mp : mounts) {
      if (!IsMounted(mp)) continue;
      (void)fs::AbortFuseConnection(mp);
      ::umount2(mp.c_str(), MNT_DETACH);
    }
    MountFixture::TearDown();
  }

  // A mount whose server the killer may kill.
  struct Live {
    int committer;
    std::string mp;
    int pid;
    bool killed;
  };

  // Records a failure (the first few are reported) and stops everyone.
  void Fail(const std::string& what) {
    std::lock_guard<std::mutex> l(mu_);
    failures_.push_back(what);
    stop_ = true;
  }

  // Runs `snapvol args...` with its output in `log`; the exit code (128 +
  // signal if killed).
  int RunCli(const std::vector<std::string>& args, const std::string& log) {
    std::vector<std::string> argv = {SNAPVOL_BIN, "--store", store_dir()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return 127;
    {
      std::lock_guard<std::mutex> l(mu_);
      cli_pids_.insert(pid);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      cli_pids_.erase(pid);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  // A commit that gave up after losing the race for the next version
  // max_attempts times (Engine::Commit) was not acknowledged and changed
  // nothing: allowed, counted and printed (the store's limit under this
  // much contention, not a lost write).
  static bool LostTheRace(const std::string& text) {
    return text.find("lost the race for the next version") != std::string::npos;
  }

  static std::string Tail(const std::string& log) {
    std::optional<std::string> text = ReadFile(log);
    if (!text) return "(no output)";
    return text->size() > 2000 ? "..." + text->substr(text->size() - 2000) : *text;
  }

  void Progress() { last_progress_ns_ = steady_clock::now().time_since_epoch().count(); }

  void Pause(std::mt19937_64& rng) {
    if (pause_ms_ > 0) std::this_thread::sleep_for(milliseconds(rng() % (2 * pause_ms_ + 1)));
  }

  // --- CLI committers ------------------------------------------------------

  void CliCommitter(int i) {
    std::mt19937_64 rng(seed_ * 1000003 + static_cast<uint64_t>(i));
    const std::string prefix = "/cli-" + std::to_string(i);
    const std::string local = dir() + "/local" + std::to_string(i);
    stdfs::create_directories(local);
    std::map<std::string, Content>& model = models_[i];
    for (int k = 0; k < commits_ && !stop_; ++k) {
      Pause(rng);
      const uint64_t r = rng() % 100;
      std::vector<std::string> args;
      std::string path;
      std::optional<Content> content;
      if (r < 70 || model.empty()) {
        path = prefix + "/f" + std::to_string(k);
        content = RandomContent(rng);
        args = {"volume", "put", volume_name(), local + "/f", path};
      } else {
        auto it = std::next(model.begin(), static_cast<long>(rng() % model.size()));
        path = it->first;
        if (r < 85) {
          content = RandomContent(rng);
          args = {"volume", "put", volume_name(), local + "/f", path, "--force"};
        } else {
          args = {"volume", "rm", volume_name(), path};
        }
      }
      if (content && !WriteFile(local + "/f", Bytes(*content))) {
        Fail("writing the local file of " + path + ": " + std::strerror(errno));
        return;
      }
      const std::string log = local + "/log";
      const int code = RunCli(args, log);
      if (code == 1 && LostTheRace(Tail(log))) {
        ++contended_;
        Progress();
        continue;
      }
      if (code != 0) {
        Fail(args[1] + " of " + path + " (committer " + std::to_string(i) + ", iteration " +
             std::to_string(k) + ") exited " + std::to_string(code) + ": " + Tail(log));
        return;
      }
      if (content) {
        model[path] = *content;
      } else {
        model.erase(path);
      }
      ++acknowledged_;
      Progress();
    }
  }

  // --- mount committers ----------------------------------------------------

  // One mount of a mount committer.
  struct Mounted {
    std::string mp;
    std::string id;  // its directory under <state>/mounts
    int pid = -1;
  };

  // Mounts a fresh mountpoint for committer `i` and lets the killer see it.
  std::optional<Mounted> MountFor(int i, std::mt19937_64& rng) {
    static const int kIntervals[] = {0, 50, 200, 1000};
    fs::MountOptions o = Options();
    o.commit_interval = milliseconds(kIntervals[rng() % 4]);
    Mounted m;
    m.mp = dir() + "/mp" + std::to_string(i) + "-" + std::to_string(generation_[i]++);
    stdfs::create_directories(m.mp);
    o.mountpoint = m.mp;
    {
      std::lock_guard<std::mutex> l(mu_);
      all_mounts_.push_back(m.mp);
    }
    fs::Status s = fs::Mount(o);
    if (!s.ok()) {
      Fail("mounting " + m.mp + ": " + s.ToString());
      return std::nullopt;
    }
    auto st = fs::StatusOf(m.mp);
    if (!st.ok()) {
      Fail("status of " + m.mp + ": " + st.status().ToString());
      return std::nullopt;
    }
    m.pid = st->pid;
    m.id = st->mount_id;
    std::lock_guard<std::mutex> l(mu_);
    all_pids_.push_back(m.pid);
    live_.push_back({i, m.mp, m.pid, false});
    return m;
  }

  // Takes `mp` out of the killer's choice; returns whether it was killed.
  bool Withdraw(const std::string& mp) {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = live_.begin(); it != live_.end(); ++it) {
      if (it->mp != mp) continue;
      const bool killed = it->killed;
      live_.erase(it);
      return killed;
    }
    return false;
  }

  bool Killed(const std::string& mp) {
    std::lock_guard<std::mutex> l(mu_);
    for (const Live& m : live_) {
      if (m.mp == mp) return m.killed;
    }
    return false;
  }

  // After its server was killed: detach the dead mount, recover (one of
  // three ways) and mount again. The new mount must show everything the
  // dead one had: its journal is committed before the committer goes on.
  std::optional<Mounted> Replace(int i, const Mounted& dead, std::mt19937_64& rng) {
    Withdraw(dead.mp);
    for (int w = 0; w < 1500 && ServerAlive(dead.pid); ++w) {
      std::this_thread::sleep_for(milliseconds(20));
    }
    if (ServerAlive(dead.pid)) {
      Fail("killed server " + std::to_string(dead.pid) + " of " + dead.mp + " did not exit");
      return std::nullopt;
    }
    (void)fs::AbortFuseConnection(dead.mp);
    if (IsMounted(dead.mp)) ::umount2(dead.mp.c_str(), MNT_DETACH);
    const std::string dead_dir = state_dir() + "/mounts/" + dead.id;
    switch (rng() % 3) {
      case 0: {
        auto report = fs::Recover(store_dir(), state_dir());
        if (!report.ok()) {
          Fail("fs::Recover: " + report.status().ToString());
          return std::nullopt;
        }
        for (const fs::RecoveredMount& r : report->mounts) {
          if (!r.committed && LostTheRace(r.error)) {
            ++contended_;  // left in place; retried below
          } else if (!r.committed) {
            Fail("recovery of mount " + r.mount_id + " failed: " + r.error);
          }
        }
        break;
      }
      case 1: {
        const std::string log = dir() + "/recover" + std::to_string(i) + ".log";
        const int code = RunCli({"recover"}, log);
        if (code == 1 && LostTheRace(Tail(log))) {
          ++contended_;
        } else if (code != 0) {
          Fail("snapvol recover exited " + std::to_string(code) + ": " + Tail(log));
          return std::nullopt;
        }
        break;
      }
      default:
        break;  // the next mount recovers it
    }
    ++recoveries_;
    std::optional<Mounted> fresh = MountFor(i, rng);
    if (!fresh) return std::nullopt;
    // Someone else may have been recovering the dead mount meanwhile (its
    // lock was held, so ours skipped it) and may have committed after the
    // new mount read the head: wait until it is done, then reload.
    const auto start = steady_clock::now();
    while (Exists(dead_dir)) {
      if (steady_clock::now() - start > std::chrono::seconds(120)) {
        Fail("the journal of killed mount " + dead.id + " (" + dead.mp +
             ") was not recovered within 120 s");
        return std::nullopt;
      }
      auto report = fs::Recover(store_dir(), state_dir());
      if (!report.ok()) Fail("fs::Recover: " + report.status().ToString());
      std::this_thread::sleep_for(milliseconds(20));
    }
    fs::Status s = fs::ReloadMount(fresh->mp);
    if (!s.ok() && !Killed(fresh->mp)) {
      Fail("reload of " + fresh->mp + ": " + s.ToString());
      return std::nullopt;
    }
    // If the new mount was killed already, the next operation notices.
    return fresh;
  }

  // One operation of a mount committer, relative to its mountpoint. Every
  // kind is idempotent when repeated after a kill that may or may not have
  // let it happen.
  struct Op {
    enum Kind { kMkdir, kWrite, kRename, kUnlink, kCommit } kind;
    std::string path, to;
    Content content;
  };

  // 0, the errno of the first call that failed, or kContended.
  static constexpr int kContended = -1;
  static int RunOp(const std::string& mp, const Op& op, bool retry) {
    switch (op.kind) {
      case Op::kMkdir:
        return ::mkdir((mp + op.path).c_str(), 0755) == 0 || errno == EEXIST ? 0 : errno;
      case Op::kWrite:
        return WriteFile(mp + op.path, Bytes(op.content)) ? 0 : errno;
      case Op::kRename:
        if (::rename((mp + op.path).c_str(), (mp + op.to).c_str()) == 0) return 0;
        // Repeated: the first attempt moved it before the kill.
        if (retry && errno == ENOENT && Exists(mp + op.to)) return 0;
        return errno;
      case Op::kUnlink:
        if (::unlink((mp + op.path).c_str()) == 0) return 0;
        return retry && errno == ENOENT ? 0 : errno;
      case Op::kCommit: {
        auto c = fs::CommitMount(mp);
        if (!c.ok() && LostTheRace(c.status().message())) return kContended;
        return c.ok() ? 0 : (c.status().sys_errno() != 0 ? c.status().sys_errno() : EIO);
      }
    }
    return EINVAL;
  }

  // Runs `op` on the committer's mount until it succeeds, replacing the
  // mount whenever the killer got its server. False: the committer stops.
  // A commit that lost the race (its changes stay pending) sets
  // *contended.
  bool Do(int i, Mounted& m, const Op& op, std::mt19937_64& rng, bool* contended = nullptr) {
    bool retry = false;
    for (int attempt = 0; !stop_; ++attempt) {
      if (Killed(m.mp)) {
        std::optional<Mounted> fresh = Replace(i, m, rng);
        if (!fresh) return false;
        m = *fresh;
        retry = true;
        continue;
      }
      const int err = RunOp(m.mp, op, retry);
      if (err == kContended && contended != nullptr) {
        ++contended_;
        *contended = true;
        Progress();
        return true;
      }
      if (err == 0) {
        Progress();
        return true;
      }
      if (Killed(m.mp)) continue;
      static const char* const kKinds[] = {"mkdir", "write", "rename", "unlink", "commit"};
      Fail(std::string(kKinds[op.kind]) + " of " + op.path + (op.to.empty() ? "" : " to " + op.to) +
           " on " + m.mp + " (committer " + std::to_string(i) +
           ", server alive, not killed) failed: " + std::strerror(err));
      return false;
    }
    return false;
  }

  void MountCommitter(int i) {
    std::mt19937_64 rng(seed_ * 1000003 + static_cast<uint64_t>(i));
    const std::string prefix = "/m-" + std::to_string(i);
    std::map<std::string, Content>& model = models_[i];
    std::optional<Mounted> mounted = MountFor(i, rng);
    if (!mounted) return;
    Mounted& m = *mounted;
    if (!Do(i, m, {Op::kMkdir, prefix, "", {}}, rng)) return;
    auto pick = [&] { return std::next(model.begin(), static_cast<long>(rng() % model.size())); };
    for (int k = 0; k < commits_ && !stop_; ++k) {
      Pause(rng);
      Op write{Op::kWrite, prefix + "/f" + std::to_string(k), "", RandomContent(rng)};
      if (!Do(i, m, write, rng)) return;
      model[write.path] = write.content;
      ++written_;
      if (rng() % 100 < 15) {
        Op over{Op::kWrite, pick()->first, "", RandomContent(rng)};
        if (!Do(i, m, over, rng)) return;
        model[over.path] = over.content;
        ++written_;
      }
      if (rng() % 100 < 10) {
        auto it = pick();
        Op rename{Op::kRename, it->first, prefix + "/r" + std::to_string(k), {}};
        if (!Do(i, m, rename, rng)) return;
        model[rename.to] = it->second;
        model.erase(it);
        ++written_;
      }
      if (rng() % 100 < 10) {
        auto it = pick();
        if (!Do(i, m, {Op::kUnlink, it->first, "", {}}, rng)) return;
        model.erase(it);
        ++written_;
      }
      if (rng() % 100 < 35) {
        bool contended = false;
        if (!Do(i, m, {Op::kCommit, "", "", {}}, rng, &contended)) return;
        if (!contended) ++acknowledged_;
      }
    }
    // The final commit; the killer no longer chooses this mount.
    while (Withdraw(m.mp)) {
      // Killed after its last operation: recover like any other kill.
      std::optional<Mounted> fresh = Replace(i, m, rng);
      if (!fresh) return;
      m = *fresh;
    }
    fs::Status s = fs::Unmount(m.mp);
    if (!s.ok() && LostTheRace(s.message())) {
      ++contended_;  // kept for recovery, which the end runs
    } else if (!s.ok()) {
      Fail("unmount of " + m.mp + " (committer " + std::to_string(i) + "): " + s.ToString());
    }
  }

  // --- the killer ----------------------------------------------------------

  void Killer() {
    std::mt19937_64 rng(seed_ * 7919 + 17);
    while (!stop_ && !done_) {
      const auto wait = milliseconds(kill_min_ms_ + rng() % (kill_max_ms_ - kill_min_ms_ + 1));
      const auto until = steady_clock::now() + wait;
      while (!stop_ && !done_ && steady_clock::now() < until) {
        std::this_thread::sleep_for(milliseconds(20));
      }
      if (stop_ || done_) return;
      std::string mp;
      int pid = -1;
      {
        std::lock_guard<std::mutex> l(mu_);
        std::vector<Live*> alive;
        for (Live& m : live_) {
          if (!m.killed) alive.push_back(&m);
        }
        if (alive.empty()) continue;
        Live* victim = alive[rng() % alive.size()];
        victim->killed = true;
        mp = victim->mp;
        pid = victim->pid;
      }
      ::kill(pid, SIGKILL);
      ++kills_;
      // A thread of the killed server may be stuck in the kernel
      // (fuse_connection.h): abort, as the CLI and the CSI driver do.
      std::this_thread::sleep_for(milliseconds(50));
      (void)fs::AbortFuseConnection(mp);
    }
  }

  // Kills everything still running (a hang): the servers and CLI processes
  // this test started, and aborts their connections so blocked calls return.
  void KillEverything() {
    std::lock_guard<std::mutex> l(mu_);
    for (int pid : all_pids_) {
      if (ServerAlive(pid)) ::kill(pid, SIGKILL);
    }
    for (int pid : cli_pids_) ::kill(pid, SIGKILL);
    for (const std::string& mp : all_mounts_) {
      if (IsMounted(mp)) (void)fs::AbortFuseConnection(mp);
    }
  }

  // --- the check -----------------------------------------------------------

  // Compares committer `i`'s subtree of the head (at `root`, a fresh mount)
  // with its model.
  void Check(const std::string& root, int i) {
    const std::string prefix = (i % 2 == 0 ? "/m-" : "/cli-") + std::to_string(i);
    const std::map<std::string, Content>& model = models_[i];
    std::set<std::string> found;
    std::error_code ec;
    for (const auto& e : stdfs::recursive_directory_iterator(root + prefix, ec)) {
      found.insert(e.path().string().substr(root.size()));
    }
    int reported = 0;
    for (const std::string& p : found) {
      if (!model.contains(p) && reported++ < 5) {
        ADD_FAILURE() << p << " is in the head, but committer " << i
                      << " removed it (or never made it)" << Replay();
      }
    }
    for (const auto& [path, content] : model) {
      if (!found.contains(path)) {
        if (reported++ < 5) {
          ADD_FAILURE() << "lost: " << path << " (" << content.size << " bytes, content seed "
                        << content.seed << ") of committer " << i << " is not in the head"
                        << Replay();
        }
        ++lost_;
        continue;
      }
      std::optional<std::string> got = ReadFile(root + path);
      if (!got || *got != Bytes(content)) {
        if (reported++ < 5) {
          ADD_FAILURE() << "lost: " << path << " of committer " << i << " has "
                        << (got ? std::to_string(got->size()) + " other bytes" : "no content")
                        << ", not its last content (" << content.size << " bytes, content seed "
                        << content.seed << ")" << Replay();
        }
        ++lost_;
      }
    }
    files_checked_ += model.size();
  }

  std::string Replay() const {
    return "\nreplay: SNAPVOL_SOAK_SEED=" + std::to_string(seed_) +
           " SNAPVOL_SOAK_COMMITTERS=" + std::to_string(committers_) +
           " SNAPVOL_SOAK_COMMITS=" + std::to_string(commits_) +
           " build/e2e/soak_e2e_test (timing varies: a replay is not exact)";
  }

  uint64_t seed_ = 0;
  int committers_ = 0, commits_ = 0;
  uint64_t pause_ms_ = 0, kill_min_ms_ = 0, kill_max_ms_ = 0;
  std::vector<std::map<std::string, Content>> models_;  // one per committer, its own only
  std::vector<int> generation_;                         // mountpoints made per committer
  std::atomic<bool> stop_{false}, done_{false};
  std::atomic<int64_t> last_progress_ns_{0};
  std::atomic<uint64_t> acknowledged_{0}, written_{0}, kills_{0}, recoveries_{0}, contended_{0};
  uint64_t lost_ = 0, files_checked_ = 0;

  std::mutex mu_;  // guards what follows
  std::vector<Live> live_;
  std::vector<std::string> all_mounts_, failures_;
  std::vector<int> all_pids_;
  std::set<int> cli_pids_;
};

TEST_F(SoakTest, KilledMountsAndCliCommittersLoseNothing) {
  committers_ = static_cast<int>(EnvNumber("SNAPVOL_SOAK_COMMITTERS", 8));
  commits_ = static_cast<int>(EnvNumber("SNAPVOL_SOAK_COMMITS", 10));
  seed_ = EnvNumber("SNAPVOL_SOAK_SEED",
                    static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch() /
                                          std::chrono::microseconds(1)) %
                        1000000000);
  pause_ms_ = EnvNumber("SNAPVOL_SOAK_PAUSE_MS", 300);
  kill_min_ms_ = EnvNumber("SNAPVOL_SOAK_KILL_MIN_MS", 200);
  kill_max_ms_ = std::max(kill_min_ms_, EnvNumber("SNAPVOL_SOAK_KILL_MAX_MS", 2000));
  const auto stall = std::chrono::seconds(EnvNumber("SNAPVOL_SOAK_STALL_S", 300));
  std::printf("soak: seed %llu, %d committers x %d commits%s\n",
              static_cast<unsigned long long>(seed_), committers_, commits_, Replay().c_str());
  std::fflush(stdout);
  models_.resize(static_cast<size_t>(committers_));
  generation_.resize(static_cast<size_t>(committers_));

  const auto start = steady_clock::now();
  Progress();
  std::vector<std::thread> threads;
  for (int i = 0; i < committers_; ++i) {
    threads.emplace_back([this, i] { i % 2 == 0 ? MountCommitter(i) : CliCommitter(i); });
  }
  std::thread killer([this] { Killer(); });
  std::atomic<int> finished{0};
  std::thread joiner([&] {
    for (std::thread& t : threads) t.join();
    finished = 1;
  });
  bool hung = false;
  while (finished == 0) {
    std::this_thread::sleep_for(milliseconds(200));
    const auto idle =
        steady_clock::now().time_since_epoch() - steady_clock::duration(last_progress_ns_.load());
    if (!hung && idle > stall) {
      hung = true;
      Fail("no operation finished for " + std::to_string(stall.count()) +
           " s: a hang; killing every server and CLI process");
      KillEverything();
    }
    if (hung) KillEverything();
  }
  joiner.join();
  done_ = true;
  killer.join();
  const double run_s = Seconds(steady_clock::now() - start);
  {
    std::lock_guard<std::mutex> l(mu_);
    for (size_t f = 0; f < failures_.size() && f < 10; ++f) {
      ADD_FAILURE() << failures_[f] << Replay();
    }
    if (!failures_.empty()) return;
  }

  // Whatever a killed server left and nobody recovered yet lands now.
  auto report = fs::Recover(store_dir(), state_dir());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  for (const fs::RecoveredMount& r : report->mounts) {
    EXPECT_TRUE(r.committed) << r.mount_id << ": " << r.error << Replay();
  }
  std::error_code ec;
  EXPECT_TRUE(stdfs::is_empty(state_dir() + "/mounts", ec))
      << "mount directories are left in " << state_dir() << "/mounts" << Replay();

  fs::MountOptions ro = Options();
  ro.read_only = true;
  const std::string fresh = MountAt("final", ro);
  for (int i = 0; i < committers_; ++i) Check(fresh, i);
  EXPECT_TRUE(fs::Unmount(fresh).ok());

  const auto fsck_start = steady_clock::now();
  const std::string fsck_log = dir() + "/fsck.log";
  const int fsck = RunCli({"store", "fsck"}, fsck_log);
  const double fsck_s = Seconds(steady_clock::now() - fsck_start);
  EXPECT_EQ(fsck, 0) << "snapvol store fsck: " << Tail(fsck_log) << Replay();
  // A commit gives up only after losing the race for ten minutes
  // (CommitOptions::give_up_after): under this load, none may.
  EXPECT_EQ(contended_, 0u) << "commits gave up losing the race for the next version" << Replay();

  std::ostringstream out;
  out << "soak: seed " << seed_ << ": " << committers_ << " committers x " << commits_
      << " commits in " << run_s << " s: " << acknowledged_ << " acknowledged commits, " << written_
      << " written mount operations, " << contended_
      << " commits that gave up losing the race for the next version, " << kills_ << " kills, "
      << recoveries_ << " recoveries, " << files_checked_ << " files checked (" << lost_
      << " lost), head version " << HeadVersion() << "; store fsck "
      << (fsck == 0 ? "clean" : "FAILED") << " in " << fsck_s << " s\n"
      << Tail(fsck_log);
  std::printf("%s", out.str().c_str());
  std::fflush(stdout);
}

}  // namespace
}  // namespace snapvol::e2e
