// Commits that fail or crash at every step (S3, S9): the head is either
// unchanged or names a complete commit, never a partial one; a retried
// commit lands; nothing committed earlier is lost, also after a power loss.
#include <gtest/gtest.h>

#include <map>

#include "driver/core/fault_env.h"
#include "driver/volume/engine.h"
#include "tests/volume/content_helpers.h"
#include "tests/volume/test_store.h"

namespace snapvol::volume {
namespace {

using testing::Backend;
using testing::HookedStore;
using Files = std::map<std::string, std::string>;  // path -> content, flat

std::string Data(int64_t seed, size_t n) {
  std::string s(n, '\0');
  uint32_t x = static_cast<uint32_t>(seed) * 2654435761u + 1;
  for (char& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 23);
  }
  return s;
}

// The change set of step `n`: a new chunked file, a rewrite of a shared
// inline file, and the removal of the previous step's file.
Files StepFiles(int64_t n) {
  return {{"/step" + std::to_string(n), Data(n, 200'000 + n)},
          {"/shared", "written by step " + std::to_string(n)}};
}

Status BuildChangeSet(store::ObjectStore& objects, int64_t n, ChangeSet* cs) {
  for (const auto& [path, data] : StepFiles(n)) {
    FileWriter w(&objects);
    RETURN_IF_ERROR(w.Write(data));
    ASSIGN_OR_RETURN(objects::Content content, w.Finish());
    objects::Entry e;
    e.set_type(objects::FILE);
    e.set_mode(0644);
    e.set_size(data.size());
    *e.mutable_content() = content;
    RETURN_IF_ERROR(cs->Put(path, e));
  }
  return cs->Delete("/step" + std::to_string(n - 1));
}

void ApplyStep(int64_t n, Files* files) {
  for (const auto& [path, data] : StepFiles(n)) (*files)[path] = data;
  files->erase("/step" + std::to_string(n - 1));
}

// The head holds exactly `files`, every byte readable.
void ExpectHead(Engine& engine, const VolumeRecord& v, const Files& files) {
  auto head = engine.Head(v);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->inodes(), 1 + files.size());
  for (const auto& [path, data] : files) {
    auto got = testing::ReadPath(engine, *head, path);
    ASSERT_TRUE(got) << path << " missing at version " << head->version;
    EXPECT_TRUE(*got == data) << path << " differs at version " << head->version;
  }
}

CommitOptions Options() {
  CommitOptions o;
  o.author = DefaultAuthor("test");
  return o;
}

class EngineFaultTest : public ::testing::TestWithParam<Backend> {};

INSTANTIATE_TEST_SUITE_P(Backends, EngineFaultTest,
                         ::testing::Values(Backend::kMemory, Backend::kLocal),
                         [](const auto& info) { return testing::BackendName(info.param); });

// Fails, in turn, every store call a commit makes: the content flush, each
// page Put, the commit Put, the flush, the append, and the report of a
// landed append (a crash after the record was written).
TEST_P(EngineFaultTest, FailureAtEachCommitStep) {
  auto ts = testing::OpenTestStore(GetParam());
  ASSERT_TRUE(ts.ok()) << ts.status().ToString();
  HookedStore hooked(ts->store.get());
  Engine faulty(&hooked.store, core::Env::Default());
  Engine plain(ts->store.get(), core::Env::Default());
  auto v = plain.CreateVolume("main", "faults", {});
  ASSERT_TRUE(v.ok());

  Files files;
  {
    ChangeSet base;
    ASSERT_TRUE(BuildChangeSet(plain.objects(), 0, &base).ok());
    ASSERT_TRUE(plain.Commit(*v, base, Options()).ok());
    ApplyStep(0, &files);
  }

  int fail_at = 0;
  for (;; ++fail_at) {
    const int64_t n = fail_at + 1;
    ChangeSet cs;
    ASSERT_TRUE(BuildChangeSet(plain.objects(), n, &cs).ok());
    int event = 0;
    bool injected = false, after_append = false;
    auto step = [&] {
      if (event++ != fail_at) return Status::Ok();
      injected = true;
      return Status::FromErrno(EIO, "injected");
    };
    hooked.objects->before_put = [&](store::ObjectKind) { return step(); };
    hooked.objects->before_flush = step;
    hooked.catalog->before_append = step;
    hooked.catalog->after_append = [&] {
      Status s = step();
      after_append = !s.ok();
      return s;
    };
    auto before = plain.Head(*v);
    ASSERT_TRUE(before.ok());
    auto r = faulty.Commit(*v, cs, Options());
    hooked.objects->before_put = nullptr;
    hooked.objects->before_flush = nullptr;
    hooked.catalog->before_append = nullptr;
    hooked.catalog->after_append = nullptr;

    if (!injected) {  // every step has had its failure
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ApplyStep(n, &files);
      ExpectHead(plain, *v, files);
      break;
    }
    ASSERT_FALSE(r.ok()) << "step " << fail_at;
    auto after = plain.Head(*v);
    ASSERT_TRUE(after.ok());
    if (after_append) {
      // The record landed before the "crash": the commit is whole.
      EXPECT_EQ(after->version, before->version + 1);
      ApplyStep(n, &files);
    } else {
      EXPECT_EQ(after->version, before->version) << "step " << fail_at;
      EXPECT_EQ(after->commit_hash, before->commit_hash);
    }
    ExpectHead(plain, *v, files);

    // S9: the failed commit is retried and lands.
    auto retry = plain.Commit(*v, cs, Options());
    ASSERT_TRUE(retry.ok()) << retry.status().ToString();
    EXPECT_EQ(retry->empty, after_append);  // already landed: nothing new
    ApplyStep(n, &files);
    ExpectHead(plain, *v, files);
  }
  // Content flush, >= 1 page, commit, flush, append, after-append.
  EXPECT_GE(fail_at, 6);
}

// The local backend under FaultEnv: the process "dies" at every file-system
// step of writing content and committing, then the machine loses whatever
// was not synced. Reopened, the store shows the previous commit intact; the
// commit is redone and survives a power loss right after it.
TEST(EngineCrashTest, CrashAtEachStepOfALocalCommit) {
  testing::TempDir dir;
  const std::string spec = dir.path() + "/store";
  core::FaultEnv fault(core::Env::Default());
  std::unique_ptr<store::Store> store;
  std::unique_ptr<Engine> engine;
  auto reopen = [&] {
    engine.reset();
    store.reset();
    auto s = store::OpenStore(spec, &fault);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store = std::move(*s);
    engine = std::make_unique<Engine>(store.get(), &fault);
  };
  reopen();
  ASSERT_NE(engine, nullptr);
  auto v = engine->CreateVolume("main", "crashy", {});
  ASSERT_TRUE(v.ok());
  Files files;
  {
    ChangeSet base;
    ASSERT_TRUE(BuildChangeSet(engine->objects(), 0, &base).ok());
    ASSERT_TRUE(engine->Commit(*v, base, Options()).ok());
    ApplyStep(0, &files);
  }

  int64_t crash_at = 1;
  for (;; ++crash_at) {
    const int64_t n = crash_at;
    fault.Reset();
    fault.CrashAtStep(crash_at);
    ChangeSet cs;
    Status s = BuildChangeSet(engine->objects(), n, &cs);
    if (s.ok()) {
      auto r = engine->Commit(*v, cs, Options());
      s = r.ok() ? Status::Ok() : r.status();
    }
    if (s.ok()) ApplyStep(n, &files);
    if (!fault.crashed()) break;  // the whole put + commit ran before step n

    ASSERT_TRUE(fault.DropUnsyncedData().ok());
    fault.Reset();
    reopen();
    ExpectHead(*engine, *v, files);

    if (!s.ok()) {
      ChangeSet again;
      ASSERT_TRUE(BuildChangeSet(engine->objects(), n, &again).ok());
      auto r = engine->Commit(*v, again, Options());
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ApplyStep(n, &files);
    }
    // Power loss right after the commit returned: nothing is lost.
    ASSERT_TRUE(fault.DropUnsyncedData().ok());
    reopen();
    ExpectHead(*engine, *v, files);
  }
  ExpectHead(*engine, *v, files);
  EXPECT_GT(crash_at, 10);  // the loop really crashed at many steps
}

}  // namespace
}  // namespace snapvol::volume
