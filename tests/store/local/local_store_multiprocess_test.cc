// Many processes sharing one local store: each child opens its own Store on
// the same directory, as the CLI, the CSI driver and mount servers do.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <vector>

#include "driver/store/store.h"
#include "tests/store/temp_dir.h"

namespace snapvol::store {
namespace {

using core::Code;
using core::Env;

// Children wait on a pipe until the parent closes its write end, so they
// start their racing work together.
class StartGate {
 public:
  StartGate() { EXPECT_EQ(::pipe(fds_), 0); }
  ~StartGate() {
    if (fds_[0] >= 0) ::close(fds_[0]);
    if (fds_[1] >= 0) ::close(fds_[1]);
  }
  void WaitInChild() {
    ::close(fds_[1]);
    char c;
    while (::read(fds_[0], &c, 1) > 0) {
    }
  }
  void OpenInParent() {
    ::close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

// Forks `n` children running `body(i)`; returns their exit codes. A child
// never returns into the test framework.
template <typename Body>
std::vector<int> RunChildren(int n, StartGate& gate, Body body) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      gate.WaitInChild();
      int code = body(i);
      std::fflush(stderr);
      ::_exit(code);
    }
    pids.push_back(pid);
  }
  gate.OpenInParent();
  std::vector<int> codes;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status));
  }
  return codes;
}

TEST(LocalStoreMultiProcessTest, ConcurrentAppendsFromEightProcessesAllLandOnce) {
  TempDir dir;
  std::string spec = dir.path() + "/store";
  std::string volume_id;
  {
    auto store = OpenStore(spec, Env::Default());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    VolumeRecord r;
    r.environment = "main";
    r.name = "shared";
    ASSERT_TRUE((*store)->catalog->CreateVolume(r).ok());
    volume_id = (*store)->catalog->GetVolume("main", "shared")->id;
  }  // closed before fork: children must not share a SQLite connection

  constexpr int kChildren = 8, kEach = 50;
  StartGate gate;
  auto codes = RunChildren(kChildren, gate, [&](int child) {
    auto store = OpenStore(spec, Env::Default());
    if (!store.ok()) {
      std::fprintf(stderr, "child %d: %s\n", child, store.status().ToString().c_str());
      return 2;
    }
    // The commit objects go first, flushed once (write ordering: a version
    // record only ever names durable objects).
    std::vector<Hash> commits;
    for (int i = 0; i < kEach; ++i) {
      std::string commit = "child " + std::to_string(child) + " commit " + std::to_string(i);
      commits.push_back(Hash::Of(commit));
      if (!(*store)->objects->Put(commits.back(), ObjectKind::kCommit, commit).ok()) return 4;
    }
    if (!(*store)->objects->Flush().ok()) return 5;
    for (int landed = 0; landed < kEach;) {
      auto head = (*store)->catalog->LatestVersion(volume_id);
      if (!head.ok()) return 3;
      VersionRecord v;
      v.version = head->has_value() ? (*head)->version + 1 : 1;
      v.commit = commits[landed];
      auto won = (*store)->catalog->AppendVersion(volume_id, v);
      if (!won.ok()) {
        std::fprintf(stderr, "child %d: %s\n", child, won.status().ToString().c_str());
        return 6;
      }
      if (*won) ++landed;  // lost the race: re-read the head and try again
    }
    return 0;
  });
  for (int i = 0; i < kChildren; ++i) EXPECT_EQ(codes[i], 0) << "child " << i;

  auto store = OpenStore(spec, Env::Default());
  ASSERT_TRUE(store.ok());
  auto versions = (*store)->catalog->ListVersions(volume_id, 0, 0);
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), static_cast<size_t>(kChildren * kEach));
  std::set<Hash> commits;
  for (size_t i = 0; i < versions->size(); ++i) {
    const VersionRecord& v = (*versions)[i];
    EXPECT_EQ(v.version, i + 1);
    commits.insert(v.commit);
    auto bytes = (*store)->objects->Get(v.commit, ObjectKind::kCommit);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  }
  EXPECT_EQ(commits.size(), versions->size());  // every child's commit landed exactly once
}

// A child's life as a short-lived CLI process, `rounds` times: open the
// store, put one object of about `bytes` bytes, flush, read it back, close.
// Returns 0, or the step that failed (after printing why).
int OpenPutCloseRounds(const std::string& spec, int child, int rounds, size_t bytes) {
  for (int round = 0; round < rounds; ++round) {
    auto store = OpenStore(spec, Env::Default());
    if (!store.ok()) {
      std::fprintf(stderr, "child %d round %d: %s\n", child, round,
                   store.status().ToString().c_str());
      return 2;
    }
    std::string data(bytes, static_cast<char>('a' + child % 26));
    data += std::to_string(child) + "." + std::to_string(round);
    Hash id = Hash::Of(data);
    Status s = (*store)->objects->Put(id, ObjectKind::kChunk, data);
    if (s.ok()) s = (*store)->objects->Flush();
    if (!s.ok()) {
      std::fprintf(stderr, "child %d round %d: %s\n", child, round, s.ToString().c_str());
      return 3;
    }
    auto back = (*store)->objects->Get(id, ObjectKind::kChunk);
    if (!back.ok() || *back != data) return 4;
  }
  return 0;
}

// `children` processes at once run OpenPutCloseRounds on one existing
// store; expects every one to succeed and tmp/ to be empty afterwards.
void ExpectConcurrentOpenersAllSucceed(int children, int rounds, size_t bytes) {
  TempDir dir;
  std::string spec = dir.path() + "/store";
  ASSERT_TRUE(OpenStore(spec, Env::Default()).ok());
  StartGate gate;
  auto codes = RunChildren(
      children, gate, [&](int child) { return OpenPutCloseRounds(spec, child, rounds, bytes); });
  for (int i = 0; i < children; ++i) EXPECT_EQ(codes[i], 0) << "child " << i;
  auto left = Env::Default()->ListDir(spec + "/tmp");
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty()) << left->size() << " files left in tmp/, e.g. " << (*left)[0];
}

TEST(LocalStoreMultiProcessTest, ManyProcessesOpeningAtOnceNeverTripOverEachOthersLocks) {
  // Every open cleans the temp files of dead instances, locking each other
  // instance's lock file to find out whether it is alive. A newly started
  // instance must survive a cleaner grabbing its just-created lock file.
  ExpectConcurrentOpenersAllSucceed(12, 40, 300 * 1024);
}

TEST(LocalStoreMultiProcessTest, TwoHundredProcessesStartingAndCleaningAtOnceAllOpen) {
  // Issue 12: one of 1,000 concurrent `volume put`s failed to open the
  // store because a cleaner held its fresh lock file. Many short-lived
  // instances at once, each starting (creating its lock file) while others
  // clean tmp/ and others close (unlinking theirs).
  ExpectConcurrentOpenersAllSucceed(200, 5, 1000);
}

TEST(LocalStoreMultiProcessTest, ConcurrentCreateOfOneVolumeNameHasOneWinner) {
  // The store does not exist yet: the children also race to create the
  // layout and the catalog.
  TempDir dir;
  std::string spec = dir.path() + "/fresh";
  constexpr int kChildren = 6;
  StartGate gate;
  auto codes = RunChildren(kChildren, gate, [&](int child) {
    auto store = OpenStore(spec, Env::Default());
    if (!store.ok()) {
      std::fprintf(stderr, "child %d: %s\n", child, store.status().ToString().c_str());
      return 2;
    }
    VolumeRecord r;
    r.environment = "main";
    r.name = "contended";
    Status s = (*store)->catalog->CreateVolume(r);
    if (s.ok()) return 0;
    if (s.Is(Code::kAlreadyExists)) return 1;
    std::fprintf(stderr, "child %d: %s\n", child, s.ToString().c_str());
    return 3;
  });
  int winners = 0, losers = 0;
  for (int c : codes) {
    if (c == 0) ++winners;
    if (c == 1) ++losers;
  }
  EXPECT_EQ(winners, 1);
  EXPECT_EQ(losers, kChildren - 1);

  auto store = OpenStore(spec, Env::Default());
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->catalog->ListVolumes("main")->size(), 1u);
  EXPECT_EQ((*store)->catalog->ListEnvironments()->size(), 1u);
}

}  // namespace
}  // namespace snapvol::store
