// Many processes committing into one volume of one local store at once
// (S6): every commit lands, changes to different paths all survive, the
// shared path holds exactly the last writer's full content, and versions are
// contiguous with an unbroken parent chain.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>

#include "driver/volume/engine.h"
#include "tests/volume/content_helpers.h"
#include "tests/volume/test_store.h"

namespace snapvol::volume {
namespace {

constexpr int kDistinctWriters = 32;
constexpr int kSameFileWriters = 8;
constexpr size_t kDistinctSize = 20'000;
constexpr size_t kSharedSize = 1 << 20;

std::string Pattern(int writer, size_t n) {
  std::string s(n, '\0');
  uint32_t x = 0x9e3779b9u * static_cast<uint32_t>(writer + 1);
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

std::string DistinctPath(int writer) { return "/files/w" + std::to_string(writer); }

// Runs in a forked child: its own store handle and engine, one commit.
int RunWriter(const std::string& spec, int writer, int start_fd) {
  char go;
  // Wait until every child exists so the commits really overlap.
  while (::read(start_fd, &go, 1) > 0) {
  }
  auto store = store::OpenStore(spec, core::Env::Default());
  if (!store.ok()) {
    std::fprintf(stderr, "writer %d: %s\n", writer, store.status().ToString().c_str());
    return 1;
  }
  Engine engine(store->get(), core::Env::Default());
  auto volume = engine.GetVolume("main", "shared");
  if (!volume.ok()) return 2;
  ChangeSet cs;
  bool distinct = writer < kDistinctWriters;
  std::string data = distinct ? Pattern(writer, kDistinctSize) : Pattern(writer, kSharedSize);
  FileWriter w(&engine.objects());
  if (!w.Write(data).ok()) return 3;
  auto content = w.Finish();
  if (!content.ok()) return 4;
  objects::Entry e;
  e.set_type(objects::FILE);
  e.set_mode(0644);
  e.set_size(data.size());
  *e.mutable_content() = *content;
  if (!cs.Put(distinct ? DistinctPath(writer) : "/shared.bin", e).ok()) return 5;
  CommitOptions o;
  o.author = DefaultAuthor("test");
  o.message = "writer " + std::to_string(writer);
  o.max_attempts = 1000;  // 40 contenders on 2 cores: losing often is expected
  auto r = engine.Commit(*volume, cs, o);
  if (!r.ok()) {
    std::fprintf(stderr, "writer %d: %s\n", writer, r.status().ToString().c_str());
    return 6;
  }
  return 0;
}

TEST(EngineConcurrencyTest, ManyProcessesCommitIntoOneVolume) {
  testing::TempDir dir;
  const std::string spec = dir.path() + "/store";
  {
    // Closed before forking: a SQLite connection must not cross fork().
    auto store = store::OpenStore(spec, core::Env::Default());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Engine engine(store->get(), core::Env::Default());
    ASSERT_TRUE(engine.CreateVolume("main", "shared", {}).ok());
  }

  int start[2];
  ASSERT_EQ(::pipe(start), 0);
  std::vector<pid_t> pids;
  for (int i = 0; i < kDistinctWriters + kSameFileWriters; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(start[1]);
      ::_exit(RunWriter(spec, i, start[0]));
    }
    pids.push_back(pid);
  }
  ::close(start[0]);
  ::close(start[1]);  // releases every writer at once
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }

  auto store = store::OpenStore(spec, core::Env::Default());
  ASSERT_TRUE(store.ok());
  Engine engine(store->get(), core::Env::Default());
  auto volume = engine.GetVolume("main", "shared");
  ASSERT_TRUE(volume.ok());
  auto head = engine.Head(*volume);
  ASSERT_TRUE(head.ok());
  const uint64_t writers = kDistinctWriters + kSameFileWriters;
  EXPECT_EQ(head->version, writers);
  EXPECT_EQ(head->inodes(), 1 + 1 + kDistinctWriters + 1u);

  auto log = engine.Log(*volume, 0);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), writers);
  std::map<std::string, uint64_t> version_of;  // message -> version
  int last_shared = -1;
  for (size_t i = 0; i < log->size(); ++i) {
    const Snapshot& s = (*log)[i];
    EXPECT_EQ(s.version, writers - i);
    if (i + 1 < log->size()) {
      EXPECT_EQ(s.commit.parent(), std::string((*log)[i + 1].commit_hash.Bytes()));
    } else {
      EXPECT_TRUE(s.commit.parent().empty());
    }
    EXPECT_TRUE(version_of.emplace(s.commit.message(), s.version).second) << "duplicate commit";
    int writer = std::stoi(s.commit.message().substr(7));
    if (writer >= kDistinctWriters && last_shared < 0) last_shared = writer;
  }
  for (int i = 0; i < kDistinctWriters; ++i) {
    EXPECT_EQ(testing::ReadPath(engine, *head, DistinctPath(i)), Pattern(i, kDistinctSize)) << i;
  }
  ASSERT_GE(last_shared, kDistinctWriters);
  auto shared = testing::ReadPath(engine, *head, "/shared.bin");
  ASSERT_TRUE(shared);
  // Exactly one writer's full content: the one whose commit landed last.
  EXPECT_TRUE(*shared == Pattern(last_shared, kSharedSize)) << "torn or wrong shared file";
}

}  // namespace
}  // namespace snapvol::volume
