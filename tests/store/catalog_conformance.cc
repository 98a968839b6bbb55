#include "tests/store/catalog_conformance.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace snapvol::store {
namespace {

using core::Code;

VersionRecord Version(uint64_t v, std::string_view tag) {
  VersionRecord r;
  r.version = v;
  r.commit = Hash::Of(std::string(tag) + "/" + std::to_string(v));
  r.time_ns = static_cast<int64_t>(1000 + v);
  return r;
}

bool Mentions(const Status& s, std::string_view word) {
  return s.message().find(word) != std::string::npos;
}

}  // namespace

void CatalogConformanceTest::SetUp() {
  target_ = GetParam().new_target();
  ASSERT_NE(target_, nullptr);
  catalog_ = OpenAnother();
  ASSERT_NE(catalog_, nullptr);
}

std::unique_ptr<Catalog> CatalogConformanceTest::OpenAnother() {
  auto c = target_->Open();
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

VolumeRecord CatalogConformanceTest::MakeVolume(const std::string& env, const std::string& name) {
  VolumeRecord r;
  r.environment = env;
  r.name = name;
  r.created_ns = 42;
  Status s = catalog().CreateVolume(r);
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto got = catalog().GetVolume(env, name);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  return got.ok() ? *got : r;
}

// ---- Environments -----------------------------------------------------------

TEST_P(CatalogConformanceTest, MainEnvironmentExistsAndCannotBeDeleted) {
  EXPECT_TRUE(*catalog().EnvironmentExists("main"));
  auto envs = catalog().ListEnvironments();
  ASSERT_TRUE(envs.ok());
  ASSERT_EQ(envs->size(), 1u);
  EXPECT_EQ((*envs)[0].name, "main");
  Status s = catalog().DeleteEnvironment("main");
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Mentions(s, "main")) << s.ToString();
  EXPECT_EQ(catalog().CreateEnvironment("main", 1).code(), Code::kAlreadyExists);
}

TEST_P(CatalogConformanceTest, EnvironmentCreateListDelete) {
  ASSERT_TRUE(catalog().CreateEnvironment("staging", 7).ok());
  ASSERT_TRUE(catalog().CreateEnvironment("dev", 8).ok());
  Status dup = catalog().CreateEnvironment("dev", 9);
  EXPECT_EQ(dup.code(), Code::kAlreadyExists);
  EXPECT_TRUE(Mentions(dup, "dev")) << dup.ToString();
  auto envs = catalog().ListEnvironments();
  ASSERT_TRUE(envs.ok());
  ASSERT_EQ(envs->size(), 3u);
  EXPECT_EQ((*envs)[0].name, "dev");
  EXPECT_EQ((*envs)[0].created_ns, 8);
  EXPECT_EQ((*envs)[1].name, "main");
  EXPECT_EQ((*envs)[2].name, "staging");
  ASSERT_TRUE(catalog().DeleteEnvironment("dev").ok());
  EXPECT_FALSE(*catalog().EnvironmentExists("dev"));
  Status missing = catalog().DeleteEnvironment("dev");
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_TRUE(Mentions(missing, "dev")) << missing.ToString();
}

TEST_P(CatalogConformanceTest, EnvironmentWithVolumesCannotBeDeleted) {
  ASSERT_TRUE(catalog().CreateEnvironment("prod", 1).ok());
  MakeVolume("prod", "weights");
  Status s = catalog().DeleteEnvironment("prod");
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Mentions(s, "prod")) << s.ToString();
  ASSERT_TRUE(catalog().DeleteVolume("prod", "weights").ok());
  EXPECT_TRUE(catalog().DeleteEnvironment("prod").ok());
}

// ---- Volumes ------------------------------------------------------------------

TEST_P(CatalogConformanceTest, VolumeCreateGetList) {
  VolumeRecord r;
  r.environment = "main";
  r.name = "data";
  r.id = "0123456789abcdef0123456789abcdef";
  r.created_ns = 123;
  r.inode_limit = 500;
  ASSERT_TRUE(catalog().CreateVolume(r).ok());
  auto got = catalog().GetVolume("main", "data");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->environment, "main");
  EXPECT_EQ(got->name, "data");
  EXPECT_EQ(got->id, r.id);
  EXPECT_EQ(got->created_ns, 123);
  EXPECT_EQ(got->inode_limit, 500u);

  Status dup = catalog().CreateVolume(r);
  EXPECT_EQ(dup.code(), Code::kAlreadyExists);
  EXPECT_TRUE(Mentions(dup, "data") && Mentions(dup, "main")) << dup.ToString();

  MakeVolume("main", "alpha");
  MakeVolume("main", "zeta");
  auto list = catalog().ListVolumes("main");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "alpha");
  EXPECT_EQ((*list)[1].name, "data");
  EXPECT_EQ((*list)[2].name, "zeta");
}

TEST_P(CatalogConformanceTest, VolumeNotFoundNamesVolumeAndEnvironment) {
  auto got = catalog().GetVolume("main", "nope");
  EXPECT_EQ(got.status().code(), Code::kNotFound);
  EXPECT_TRUE(Mentions(got.status(), "nope") && Mentions(got.status(), "main"))
      << got.status().ToString();
  EXPECT_EQ(catalog().DeleteVolume("main", "nope").code(), Code::kNotFound);
  EXPECT_EQ(catalog().RenameVolume("main", "nope", "x").code(), Code::kNotFound);
  EXPECT_EQ(catalog().SetInodeLimit("main", "nope", 5).code(), Code::kNotFound);
}

TEST_P(CatalogConformanceTest, VolumeInMissingEnvironmentIsNotFound) {
  VolumeRecord r;
  r.environment = "ghost";
  r.name = "v";
  Status s = catalog().CreateVolume(r);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_TRUE(Mentions(s, "ghost")) << s.ToString();
  EXPECT_EQ(catalog().GetVolume("ghost", "v").status().code(), Code::kNotFound);
  EXPECT_EQ(catalog().ListVolumes("ghost").status().code(), Code::kNotFound);
  auto empty = catalog().ListVolumes("main");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_P(CatalogConformanceTest, VolumeIdsAreGeneratedWhenEmptyAndUnique) {
  VolumeRecord a = MakeVolume("main", "a");
  VolumeRecord b = MakeVolume("main", "b");
  EXPECT_EQ(a.id.size(), 32u);
  EXPECT_EQ(a.id.find_first_not_of("0123456789abcdef"), std::string::npos) << a.id;
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(a.created_ns, 0);
  VolumeRecord c;
  c.environment = "main";
  c.name = "c";
  c.id = a.id;
  EXPECT_EQ(catalog().CreateVolume(c).code(), Code::kAlreadyExists);
  // A deleted and re-created name gets a new id.
  ASSERT_TRUE(catalog().DeleteVolume("main", "a").ok());
  VolumeRecord again = MakeVolume("main", "a");
  EXPECT_NE(again.id, a.id);
}

TEST_P(CatalogConformanceTest, SameNameInTwoEnvironmentsIsTwoVolumes) {  // S11
  ASSERT_TRUE(catalog().CreateEnvironment("dev", 1).ok());
  VolumeRecord prod = MakeVolume("main", "models");
  VolumeRecord dev = MakeVolume("dev", "models");
  EXPECT_NE(prod.id, dev.id);
  ASSERT_TRUE(*catalog().AppendVersion(prod.id, Version(1, "prod")));
  EXPECT_FALSE(catalog().LatestVersion(dev.id)->has_value());
  ASSERT_TRUE(catalog().SetInodeLimit("dev", "models", 77).ok());
  EXPECT_EQ(catalog().GetVolume("main", "models")->inode_limit, kDefaultInodeLimit);
  ASSERT_TRUE(catalog().DeleteVolume("dev", "models").ok());
  auto still = catalog().GetVolume("main", "models");
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->id, prod.id);
  EXPECT_EQ((*catalog().LatestVersion(prod.id))->version, 1u);
  EXPECT_EQ(catalog().ListVolumes("dev")->size(), 0u);
}

TEST_P(CatalogConformanceTest, RenameKeepsIdAndVersions) {
  VolumeRecord v = MakeVolume("main", "old");
  MakeVolume("main", "taken");
  ASSERT_TRUE(*catalog().AppendVersion(v.id, Version(1, "r")));
  Status conflict = catalog().RenameVolume("main", "old", "taken");
  EXPECT_EQ(conflict.code(), Code::kAlreadyExists);
  EXPECT_TRUE(Mentions(conflict, "taken")) << conflict.ToString();
  ASSERT_TRUE(catalog().RenameVolume("main", "old", "new").ok());
  EXPECT_EQ(catalog().GetVolume("main", "old").status().code(), Code::kNotFound);
  auto renamed = catalog().GetVolume("main", "new");
  ASSERT_TRUE(renamed.ok());
  EXPECT_EQ(renamed->id, v.id);
  EXPECT_EQ((*catalog().LatestVersion(v.id))->version, 1u);
  EXPECT_TRUE(catalog().RenameVolume("main", "new", "new").ok());
}

TEST_P(CatalogConformanceTest, DeleteVolumeRemovesItsVersionLog) {
  VolumeRecord v = MakeVolume("main", "gone");
  for (uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(*catalog().AppendVersion(v.id, Version(i, "g")));
  ASSERT_TRUE(catalog().DeleteVolume("main", "gone").ok());
  EXPECT_FALSE(catalog().LatestVersion(v.id)->has_value());
  EXPECT_TRUE(catalog().ListVersions(v.id, 0, 0)->empty());
  EXPECT_EQ(catalog().GetVersion(v.id, 1).status().code(), Code::kNotFound);
  // A commit racing with the delete cannot resurrect the log.
  EXPECT_EQ(catalog().AppendVersion(v.id, Version(4, "g")).status().code(), Code::kNotFound);
  EXPECT_EQ(catalog().AppendVersion(v.id, Version(1, "g")).status().code(), Code::kNotFound);
  VolumeRecord again = MakeVolume("main", "gone");
  EXPECT_FALSE(catalog().LatestVersion(again.id)->has_value());
}

TEST_P(CatalogConformanceTest, InodeLimitCanBeChanged) {
  MakeVolume("main", "v");
  ASSERT_TRUE(catalog().SetInodeLimit("main", "v", 1234).ok());
  EXPECT_EQ(catalog().GetVolume("main", "v")->inode_limit, 1234u);
}

// ---- Version log --------------------------------------------------------------

TEST_P(CatalogConformanceTest, VersionLogAppendRules) {
  VolumeRecord v = MakeVolume("main", "log");
  EXPECT_FALSE(catalog().LatestVersion(v.id)->has_value());
  Status gap = catalog().AppendVersion(v.id, Version(2, "x")).status();
  EXPECT_EQ(gap.code(), Code::kFailedPrecondition) << gap.ToString();
  EXPECT_EQ(catalog().AppendVersion(v.id, Version(0, "x")).status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(*catalog().AppendVersion(v.id, Version(1, "a")));
  // Version 1 exists: a second append of it loses, whatever it carries.
  auto again = catalog().AppendVersion(v.id, Version(1, "b"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(catalog().GetVersion(v.id, 1)->commit, Version(1, "a").commit);
  ASSERT_TRUE(*catalog().AppendVersion(v.id, Version(2, "a")));
  EXPECT_EQ(catalog().AppendVersion(v.id, Version(4, "a")).status().code(),
            Code::kFailedPrecondition);
  ASSERT_TRUE(*catalog().AppendVersion(v.id, Version(3, "a")));

  auto latest = catalog().LatestVersion(v.id);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->version, 3u);
  EXPECT_EQ((*latest)->commit, Version(3, "a").commit);
  EXPECT_EQ((*latest)->time_ns, Version(3, "a").time_ns);

  auto got = catalog().GetVersion(v.id, 2);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->commit, Version(2, "a").commit);
  auto missing = catalog().GetVersion(v.id, 9);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_TRUE(Mentions(missing.status(), "9")) << missing.status().ToString();

  auto all = catalog().ListVersions(v.id, 0, 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) EXPECT_EQ((*all)[i].version, i + 1);
  auto page = catalog().ListVersions(v.id, 2, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].version, 2u);
  EXPECT_TRUE(catalog().ListVersions(v.id, 4, 0)->empty());
}

TEST_P(CatalogConformanceTest, AppendRaceHasExactlyOneWinner) {
  VolumeRecord v = MakeVolume("main", "race");
  constexpr int kThreads = 8, kRounds = 10;
  std::vector<std::unique_ptr<Catalog>> handles;
  for (int t = 0; t < kThreads; ++t) handles.push_back(OpenAnother());
  for (uint64_t round = 1; round <= kRounds; ++round) {
    std::atomic<int> winners{0}, errors{0};
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ready.fetch_add(1);
        while (ready.load() < kThreads) std::this_thread::yield();
        auto won = handles[t]->AppendVersion(v.id, Version(round, "t" + std::to_string(t)));
        if (!won.ok()) {
          errors.fetch_add(1);
        } else if (*won) {
          winners.fetch_add(1);
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(winners.load(), 1) << "round " << round;
  }
  EXPECT_EQ((*catalog().LatestVersion(v.id))->version, static_cast<uint64_t>(kRounds));
}

TEST_P(CatalogConformanceTest, ConcurrentCommittersAllLand) {
  VolumeRecord v = MakeVolume("main", "busy");
  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::unique_ptr<Catalog>> handles;
  for (int t = 0; t < kThreads; ++t) handles.push_back(OpenAnother());
  std::vector<std::thread> threads;
  std::vector<Status> results(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Catalog& c = *handles[t];
      for (int landed = 0; landed < kEach;) {
        auto head = c.LatestVersion(v.id);
        if (!head.ok()) {
          results[t] = head.status();
          return;
        }
        uint64_t next = head->has_value() ? (*head)->version + 1 : 1;
        auto won = c.AppendVersion(v.id, Version(next, "c" + std::to_string(t)));
        if (!won.ok()) {
          results[t] = won.status();
          return;
        }
        if (*won) ++landed;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  auto all = catalog().ListVersions(v.id, 0, 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), static_cast<size_t>(kThreads * kEach));
  for (size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].version, i + 1);
}

TEST_P(CatalogConformanceTest, ConcurrentCreateOfOneNameHasOneWinner) {
  constexpr int kThreads = 8;
  std::vector<std::unique_ptr<Catalog>> handles;
  for (int t = 0; t < kThreads; ++t) handles.push_back(OpenAnother());
  std::atomic<int> created{0}, exists{0}, other{0}, ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      VolumeRecord r;
      r.environment = "main";
      r.name = "contended";
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      Status s = handles[t]->CreateVolume(r);
      if (s.ok()) {
        created.fetch_add(1);
      } else if (s.Is(Code::kAlreadyExists)) {
        exists.fetch_add(1);
      } else {
        other.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(exists.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
}

TEST_P(CatalogConformanceTest, HandlesShareRecords) {
  auto other = OpenAnother();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->CreateEnvironment("shared", 5).ok());
  EXPECT_TRUE(*catalog().EnvironmentExists("shared"));
  VolumeRecord v = MakeVolume("shared", "vol");
  ASSERT_TRUE(*other->AppendVersion(v.id, Version(1, "h")));
  EXPECT_EQ((*catalog().LatestVersion(v.id))->commit, Version(1, "h").commit);
}

// ---- Mount registry ---------------------------------------------------------

TEST_P(CatalogConformanceTest, MountsAreRegisteredListedAndRemoved) {
  VolumeRecord v = MakeVolume("main", "mounted");
  VolumeRecord w = MakeVolume("main", "other");
  MountRecord m;
  m.mount_id = "m1";
  m.volume_id = v.id;
  m.host = "node-1";
  m.pid = 1234;
  m.mountpoint = std::string("/mnt/\xff\0x", 8);  // bytes
  m.state_dir = "/var/lib/snapvol/state";
  m.created_ns = 7;
  ASSERT_TRUE(catalog().AddMount(m).ok());
  MountRecord m2 = m;
  m2.mount_id = "m2";
  ASSERT_TRUE(catalog().AddMount(m2).ok());
  MountRecord elsewhere = m;
  elsewhere.mount_id = "m3";
  elsewhere.volume_id = w.id;
  ASSERT_TRUE(catalog().AddMount(elsewhere).ok());
  // Seen by another connection (another process in the local backend).
  auto other = OpenAnother();
  auto listed = other->ListMounts(v.id);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].mount_id, "m1");
  EXPECT_EQ((*listed)[0].mountpoint, m.mountpoint);
  EXPECT_EQ((*listed)[0].pid, 1234);
  EXPECT_EQ((*listed)[0].host, "node-1");
  // Add replaces; remove is idempotent.
  m.pid = 99;
  ASSERT_TRUE(catalog().AddMount(m).ok());
  EXPECT_EQ((*catalog().ListMounts(v.id))[0].pid, 99);
  ASSERT_TRUE(catalog().RemoveMount("m1").ok());
  ASSERT_TRUE(catalog().RemoveMount("m1").ok());
  ASSERT_EQ(catalog().ListMounts(v.id)->size(), 1u);
  EXPECT_EQ(catalog().ListMounts(w.id)->size(), 1u);
  EXPECT_TRUE(catalog().ListMounts("no-such-volume")->empty());
}

}  // namespace snapvol::store
