// Unit tests of the mount's pure parts, without a kernel: the View (overlay
// lookup, readdir merge, lookup counting), commit planning into a ChangeSet,
// reload, the journal replay of recovery, driven through MountServer over a
// real embedded store in a temporary directory.
#include "driver/fs/view.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "driver/core/names.h"
#include "driver/fs/mount_server.h"
#include "driver/fs/recovery.h"
#include "driver/fs/state_layout.h"
#include "driver/volume/file_reader.h"

namespace snapvol::fs {
namespace {

namespace stdfs = std::filesystem;

class ViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = stdfs::temp_directory_path() /
           ("snapvol-view-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    stdfs::remove_all(dir_);
    stdfs::create_directories(dir_);
    auto st = store::OpenStore(Store(), core::Env::Default());
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(*st);
    engine_ = std::make_unique<volume::Engine>(store_.get(), core::Env::Default());
    volume::CreateVolumeOptions vo;
    vo.inode_limit = 100000;
    ASSERT_TRUE(engine_->CreateVolume("main", "v", vo).ok());
  }
  void TearDown() override {
    servers_.clear();
    engine_.reset();
    store_.reset();
    stdfs::remove_all(dir_);
  }

  std::string Store() const { return (dir_ / "store").string(); }
  std::string State() const { return (dir_ / "state").string(); }

  MountServer& Server(bool read_only = false, const std::string& volume = "v") {
    MountOptions o;
    o.store = Store();
    o.volume = volume;
    o.mountpoint = "/unused";
    o.state_dir = State();
    o.commit_interval = std::chrono::milliseconds(0);
    o.read_only = read_only;
    auto s = MountServer::Open(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    servers_.push_back(std::move(*s));
    return *servers_.back();
  }

  // Runs `scenario` once for every placement of reloads after its commits,
  // each time on a fresh volume: `step(i)` commits, then reloads if bit i of
  // the placement is set (2^steps runs).
  using Step = std::function<void(int)>;
  void ForEveryReloadPlacement(
      int steps,
      const std::function<void(MountServer&, const std::string& vol, const Step&)>& scenario) {
    for (int mask = 0; mask < (1 << steps); ++mask) {
      SCOPED_TRACE("reloads after steps (bit mask) " + std::to_string(mask));
      const std::string vol = "placement" + std::to_string(mask);
      ASSERT_TRUE(engine_->CreateVolume("main", vol, volume::CreateVolumeOptions()).ok());
      MountServer& s = Server(false, vol);
      scenario(s, vol, [&](int bit) {
        ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
        if (mask & (1 << bit)) {
          ASSERT_TRUE(s.Reload().ok());
        }
      });
    }
  }

  // Commits files (path -> content) to the volume directly.
  void Seed(const std::map<std::string, std::string>& files) {
    volume::ChangeSet cs;
    for (const auto& [path, content] : files) {
      objects::Entry e;
      e.set_type(objects::FILE);
      e.set_mode(0644);
      e.set_size(content.size());
      e.mutable_content()->set_inline_data(content);
      ASSERT_TRUE(cs.Put(path, e).ok());
    }
    auto vol = engine_->GetVolume("main", "v");
    auto r = engine_->Commit(*vol, cs, volume::CommitOptions());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // The head's entry at `path` (nullopt if absent).
  std::optional<objects::Entry> HeadEntry(const std::string& path,
                                          const std::string& volume = "v") {
    auto vol = engine_->GetVolume("main", volume);
    auto snap = engine_->Head(*vol);
    auto e = engine_->Lookup(*snap, *core::SplitVolumePath(path));
    if (!e.ok() || !e->has_value()) return std::nullopt;
    return **e;
  }
  // Makes `changes` in a new mount and returns its directory, whose journal
  // is then replayed as if its server had died (nothing is committed).
  std::string ChangesOfADeadMount(const std::function<void(View&)>& changes) {
    MountServer& s = Server();
    changes(s.view());
    return s.mount_dir();
  }
  // Replays a mount directory as `snapvol recover` does and commits it.
  void ReplayAndCommit(const std::string& mount_dir) {
    auto cs = ReplayMountDir(mount_dir, &engine_->objects());
    ASSERT_TRUE(cs.ok()) << cs.status().ToString();
    auto vol = engine_->GetVolume("main", "v");
    ASSERT_TRUE(engine_->Commit(*vol, *cs, volume::CommitOptions()).ok());
  }

  std::optional<std::string> HeadFile(const std::string& path) {
    auto vol = engine_->GetVolume("main", "v");
    auto snap = engine_->Head(*vol);
    auto parts = core::SplitVolumePath(path);
    auto e = engine_->Lookup(*snap, *parts);
    if (!e.ok() || !e->has_value() || (*e)->type() != objects::FILE) return std::nullopt;
    auto r = volume::FileReader::Open(&engine_->objects(), (*e)->content(), (*e)->size());
    std::string out((*e)->size(), '\0');
    auto n = (*r)->ReadAt(0, out.size(), out.data());
    out.resize(*n);
    return out;
  }

  static Ino Find(View& v, Ino parent, const std::string& name) {
    auto r = v.Lookup(parent, name, Cred());
    return r.ok() ? r->ino : 0;
  }

  static std::string Read(View& v, Ino ino) {
    auto h = v.Open(ino, O_RDONLY, Cred());
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    std::string out;
    std::vector<Segment> segs;
    EXPECT_TRUE(v.Read(h->handle, 0, 1 << 24, &segs).ok());
    for (const Segment& s : segs) {
      if (s.fd >= 0) {
        std::string buf(s.len, '\0');
        EXPECT_EQ(::pread(s.fd, buf.data(), s.len, static_cast<off_t>(s.pos)),
                  static_cast<ssize_t>(s.len));
        out += buf;
      } else {
        out.append(s.mem, s.len);
      }
    }
    v.Release(h->handle);
    return out;
  }

  static Ino Create(View& v, Ino parent, const std::string& name, const std::string& data) {
    auto r = v.Create(parent, name, 0644, O_WRONLY | O_CREAT, Cred());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return 0;
    Write(v, r->second.handle, data);
    v.Release(r->second.handle);
    return r->first.ino;
  }

  static void Write(View& v, Handle* h, const std::string& data, uint64_t off = 0) {
    auto t = v.BeginWrite(h, Cred(), false);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    auto n = t->use().Pwrite(data, off);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_TRUE(v.EndWrite(std::move(*t), off, *n).ok());
  }

  static std::set<std::string> List(View& v, Ino dir) {
    auto h = v.OpenDir(dir, Cred());
    EXPECT_TRUE(h.ok());
    std::set<std::string> names;
    uint64_t off = 0;
    for (;;) {
      size_t got = 0;
      // Small batches, to exercise resuming at an offset.
      EXPECT_TRUE(v.ReadDir(*h, off, false, [&](const DirEntryOut& e) {
                     if (got == 7) return false;
                     ++got;
                     off = e.next_off;
                     if (e.name != "." && e.name != "..") {
                       EXPECT_TRUE(names.insert(e.name).second) << "listed twice: " << e.name;
                     }
                     return true;
                   }).ok());
      if (got == 0) break;
    }
    v.ReleaseDir(*h);
    return names;
  }

  stdfs::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<volume::Engine> engine_;
  std::vector<std::unique_ptr<MountServer>> servers_;
};

TEST_F(ViewTest, LookupSeesBaseThenLocalChanges) {
  Seed({{"a", "A"}, {"d/b", "B"}});
  View& v = Server().view();
  const Ino a = Find(v, kRootIno, "a");
  ASSERT_NE(a, 0u);
  EXPECT_EQ(Read(v, a), "A");
  const Ino d = Find(v, kRootIno, "d");
  EXPECT_EQ(Read(v, Find(v, d, "b")), "B");
  EXPECT_EQ(Find(v, kRootIno, "missing"), 0u);
  // Same name, same inode while referenced.
  EXPECT_EQ(Find(v, kRootIno, "a"), a);
  ASSERT_TRUE(v.Unlink(kRootIno, "a", Cred()).ok());
  EXPECT_EQ(Find(v, kRootIno, "a"), 0u);
  const Ino c = Create(v, d, "c", "C");
  EXPECT_EQ(Find(v, d, "c"), c);
  EXPECT_EQ(Read(v, c), "C");
  EXPECT_EQ(List(v, kRootIno), (std::set<std::string>{"d"}));
  EXPECT_EQ(List(v, d), (std::set<std::string>{"b", "c"}));
}

TEST_F(ViewTest, ReaddirMergesLargeBaseWithOverlay) {
  std::map<std::string, std::string> files;
  for (int i = 0; i < 2500; ++i) files["big/f" + std::to_string(10000 + i)] = "";
  Seed(files);
  View& v = Server().view();
  const Ino big = Find(v, kRootIno, "big");
  for (int i = 0; i < 2500; i += 5) {
    ASSERT_TRUE(v.Unlink(big, "f" + std::to_string(10000 + i), Cred()).ok());
  }
  Create(v, big, "a-first", "");
  Create(v, big, "f10001x", "");
  Create(v, big, "zz-last", "");
  std::set<std::string> names = List(v, big);
  EXPECT_EQ(names.size(), 2500u - 500u + 3u);
  EXPECT_EQ(names.count("f10000"), 0u);
  EXPECT_EQ(names.count("f10001"), 1u);
  EXPECT_EQ(names.count("f10001x"), 1u);
  EXPECT_EQ(names.count("zz-last"), 1u);
}

TEST_F(ViewTest, ForgetDropsCleanNodesButKeepsLocalState) {
  Seed({{"a", "A"}, {"b", "B"}});
  View& v = Server().view();
  const size_t base = v.node_count();
  const Ino a = Find(v, kRootIno, "a");
  EXPECT_EQ(v.node_count(), base + 1);
  v.Forget(a, 1);
  EXPECT_EQ(v.node_count(), base);  // clean: dropped at lookup count 0
  const Ino b = Find(v, kRootIno, "b");
  SetAttrIn chmod;
  chmod.mode = 0600;
  ASSERT_TRUE(v.SetAttr(b, chmod, Cred()).ok());
  v.Forget(b, 1);
  EXPECT_EQ(v.node_count(), base + 1);  // holds a pending change: kept
  const Ino b2 = Find(v, kRootIno, "b");
  EXPECT_EQ(b2, b);
  auto attr = v.GetAttr(b2);
  EXPECT_EQ(attr->attr.mode, 0600u);
}

TEST_F(ViewTest, CommitPublishesStateAndKeepsView) {
  Seed({{"keep", "K"}, {"del", "D"}, {"mv", "M"}, {"attr", "X"}});
  MountServer& s = Server();
  View& v = s.view();
  ASSERT_TRUE(v.Unlink(kRootIno, "del", Cred()).ok());
  ASSERT_TRUE(v.Rename(kRootIno, "mv", kRootIno, "moved", 0, Cred()).ok());
  SetAttrIn chmod;
  chmod.mode = 0600;
  ASSERT_TRUE(v.SetAttr(Find(v, kRootIno, "attr"), chmod, Cred()).ok());
  auto dir = v.Mkdir(kRootIno, "newdir", 0750, Cred());
  ASSERT_TRUE(dir.ok());
  Create(v, dir->ino, "n", "new");
  EXPECT_GT(v.PendingCount(), 0u);
  auto c = s.Commit(CommitTrigger::kExplicit);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->version, 2u);
  EXPECT_EQ(v.PendingCount(), 0u);
  EXPECT_EQ(HeadFile("/keep"), "K");
  EXPECT_FALSE(HeadFile("/del"));
  EXPECT_FALSE(HeadFile("/mv"));
  EXPECT_EQ(HeadFile("/moved"), "M");
  EXPECT_EQ(HeadFile("/newdir/n"), "new");
  // The view is unchanged by the commit and still on its base (S1, S3).
  EXPECT_EQ(v.base_version(), 1u);
  EXPECT_EQ(Read(v, Find(v, kRootIno, "moved")), "M");
  // Nothing pending: a second commit is empty.
  c = s.Commit(CommitTrigger::kExplicit);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->empty);
}

TEST_F(ViewTest, ChangesToDifferentPathsMerge) {
  Seed({{"shared", "0"}});
  MountServer& s1 = Server();
  MountServer& s2 = Server();
  Create(s1.view(), kRootIno, "one", "1");
  Create(s2.view(), kRootIno, "two", "2");
  ASSERT_TRUE(s1.Commit(CommitTrigger::kExplicit).ok());
  ASSERT_TRUE(s2.Commit(CommitTrigger::kExplicit).ok());
  EXPECT_EQ(HeadFile("/one"), "1");
  EXPECT_EQ(HeadFile("/two"), "2");
  EXPECT_EQ(HeadFile("/shared"), "0");
}

TEST_F(ViewTest, MovedDirectoryKeepsItsCommittedContent) {
  Seed({{"d/base", "b"}});
  MountServer& s = Server();
  View& v = s.view();
  const Ino d = Find(v, kRootIno, "d");
  Create(v, d, "local", "l");
  ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
  // d/local is committed but not in the view's base; moving d must carry it.
  ASSERT_TRUE(v.Rename(kRootIno, "d", kRootIno, "e", 0, Cred()).ok());
  ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
  EXPECT_EQ(HeadFile("/e/base"), "b");
  EXPECT_EQ(HeadFile("/e/local"), "l");
  EXPECT_FALSE(HeadFile("/d/base"));
}

TEST_F(ViewTest, ReloadKeepsPendingAndUnchangedInodes) {
  Seed({{"same", "S"}, {"changes", "1"}, {"d/x", "X"}});
  MountServer& s = Server();
  View& v = s.view();
  const Ino same = Find(v, kRootIno, "same");
  const Ino changes = Find(v, kRootIno, "changes");
  const Ino d = Find(v, kRootIno, "d");
  auto open = v.Open(changes, O_RDONLY, Cred());
  ASSERT_TRUE(open.ok());
  Create(v, kRootIno, "pending", "P");
  // Another writer changes one file and adds one.
  Seed({{"changes", "2"}, {"added", "A"}});
  auto inv = s.Reload();
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_EQ(v.base_version(), 2u);
  EXPECT_EQ(Find(v, kRootIno, "same"), same);
  EXPECT_EQ(Find(v, kRootIno, "d"), d);
  const Ino changed = Find(v, kRootIno, "changes");
  EXPECT_NE(changed, changes);
  EXPECT_EQ(Read(v, changed), "2");
  EXPECT_EQ(Read(v, Find(v, kRootIno, "added")), "A");
  EXPECT_EQ(Read(v, Find(v, kRootIno, "pending")), "P");
  // The handle opened before the reload keeps its content (S4).
  std::vector<Segment> segs;
  ASSERT_TRUE(v.Read(open->handle, 0, 10, &segs).ok());
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(std::string(segs[0].mem, segs[0].len), "1");
  v.Release(open->handle);
  bool invalidated = false;
  for (const auto& [parent, name] : inv->entries)
    invalidated |= parent == kRootIno && name == "changes";
  EXPECT_TRUE(invalidated);
  EXPECT_GT(v.PendingCount(), 0u);
  ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
  EXPECT_EQ(HeadFile("/pending"), "P");
  EXPECT_EQ(HeadFile("/changes"), "2");
}

TEST_F(ViewTest, HardLinksShareAnInodeAndCommitLinked) {
  MountServer& s = Server();
  View& v = s.view();
  const Ino f = Create(v, kRootIno, "f", "data");
  auto d = v.Mkdir(kRootIno, "d", 0755, Cred());
  auto l = v.Link(f, d->ino, "alias", Cred());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->ino, f);
  EXPECT_EQ(l->nlink, 2u);
  ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
  auto vol = engine_->GetVolume("main", "v");
  auto snap = engine_->Head(*vol);
  auto e1 = engine_->Lookup(*snap, {"f"});
  auto e2 = engine_->Lookup(*snap, {"d", "alias"});
  ASSERT_TRUE(e1.ok() && e1->has_value() && e2.ok() && e2->has_value());
  EXPECT_NE((*e1)->link_id(), 0u);
  EXPECT_EQ((*e1)->link_id(), (*e2)->link_id());
  // A fresh view shows both names as one inode.
  View& w = Server().view();
  const Ino wd = Find(w, kRootIno, "d");
  EXPECT_EQ(Find(w, kRootIno, "f"), Find(w, wd, "alias"));
}

TEST_F(ViewTest, InodeLimitIsEnospc) {
  ASSERT_TRUE(store_->catalog->SetInodeLimit("main", "v", 1000).ok());
  MountServer& s = Server();
  View& v = s.view();
  for (int i = 0; i < 999; ++i) {
    auto r = v.Mknod(kRootIno, "f" + std::to_string(i), S_IFREG | 0644, 0, Cred());
    ASSERT_TRUE(r.ok()) << i << " " << r.status().ToString();
  }
  auto r = v.Mkdir(kRootIno, "over", 0755, Cred());
  EXPECT_EQ(r.status().sys_errno(), ENOSPC);
  auto st = v.StatFs();
  EXPECT_EQ(st->files, 1000u);
  EXPECT_EQ(st->files_free, 0u);
}

TEST_F(ViewTest, ReadOnlyRefusesChanges) {
  Seed({{"a", "A"}});
  View& v = Server(/*read_only=*/true).view();
  EXPECT_EQ(v.Mkdir(kRootIno, "d", 0755, Cred()).status().sys_errno(), EROFS);
  EXPECT_EQ(v.Unlink(kRootIno, "a", Cred()).sys_errno(), EROFS);
  EXPECT_EQ(v.Open(Find(v, kRootIno, "a"), O_RDWR, Cred()).status().sys_errno(), EROFS);
  EXPECT_EQ(Read(v, Find(v, kRootIno, "a")), "A");
}

TEST_F(ViewTest, PermissionsAreEnforced) {
  MountServer& s = Server();
  View& v = s.view();
  Cred nobody(65534, 65534);
  auto priv = v.Mkdir(kRootIno, "priv", 0700, Cred());
  ASSERT_TRUE(priv.ok());
  EXPECT_EQ(v.Lookup(priv->ino, "x", nobody).status().sys_errno(), EACCES);
  EXPECT_EQ(v.Create(kRootIno, "f", 0644, O_WRONLY, nobody).status().sys_errno(), EACCES);
  const Ino f = Create(v, kRootIno, "f", "x");
  EXPECT_EQ(v.Open(f, O_WRONLY, nobody).status().sys_errno(), EACCES);
  EXPECT_TRUE(v.Open(f, O_RDONLY, nobody).ok());
  SetAttrIn chown;
  chown.uid = 65534;
  EXPECT_EQ(v.SetAttr(f, chown, nobody).status().sys_errno(), EPERM);
}

// The POSIX rules pjdfstest checks that the kernel leaves to us (no
// default_permissions): set-id bits cleared by a writer, who may set which
// times, O_TRUNC times, and names under directories not everybody may search.
TEST_F(ViewTest, PosixRulesTheKernelLeavesToTheServer) {
  MountServer& s = Server();
  View& v = s.view();
  Cred nobody(65534, 65534);
  const Ino f = Create(v, kRootIno, "f", "x");
  SetAttrIn chmod;
  chmod.mode = 06777;
  ASSERT_TRUE(v.SetAttr(f, chmod, Cred()).ok());
  // A non-owner with write permission may only clear the set-id bits (the
  // kernel's kill-priv on write/truncate), nothing else.
  SetAttrIn kill;
  kill.mode = 0777;
  auto r = v.SetAttr(f, kill, nobody);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->attr.mode, 0777u);
  SetAttrIn other;
  other.mode = 0775;
  EXPECT_EQ(v.SetAttr(f, other, nobody).status().sys_errno(), EPERM);
  chmod.mode = 06755;
  ASSERT_TRUE(v.SetAttr(f, chmod, Cred()).ok());
  kill.mode = 0755;
  EXPECT_EQ(v.SetAttr(f, kill, nobody).status().sys_errno(), EACCES) << "no write permission";
  // Times: both "now" needs write permission; one "now" alone (UTIME_OMIT
  // for the other) needs ownership; truncate's size + mtime "now" needs
  // write permission.
  chmod.mode = 0666;
  ASSERT_TRUE(v.SetAttr(f, chmod, Cred()).ok());
  SetAttrIn touch;
  touch.atime_ns = touch.mtime_ns = 0;
  touch.atime_now = touch.mtime_now = true;
  EXPECT_TRUE(v.SetAttr(f, touch, nobody).ok());
  SetAttrIn one;
  one.atime_ns = 0;
  one.atime_now = true;
  EXPECT_EQ(v.SetAttr(f, one, nobody).status().sys_errno(), EPERM);
  SetAttrIn trunc;
  trunc.size = 0;
  trunc.mtime_ns = 0;
  trunc.mtime_now = true;
  EXPECT_TRUE(v.SetAttr(f, trunc, nobody).ok());
  // O_TRUNC of an empty file still changes mtime and ctime.
  const int64_t before = v.GetAttr(f)->attr.mtime_ns;
  auto h = v.Open(f, O_WRONLY | O_TRUNC, Cred());
  ASSERT_TRUE(h.ok());
  v.Release(h->handle);
  EXPECT_GT(v.GetAttr(f)->attr.mtime_ns, before);
  EXPECT_GT(v.GetAttr(f)->attr.ctime_ns, before);
  // O_TRUNC by anyone but root clears the set-id bits (the kernel's
  // kill-priv for it never reaches the server).
  chmod.mode = 06777;
  ASSERT_TRUE(v.SetAttr(f, chmod, Cred()).ok());
  h = v.Open(f, O_WRONLY | O_TRUNC, nobody);
  ASSERT_TRUE(h.ok());
  v.Release(h->handle);
  EXPECT_EQ(v.GetAttr(f)->attr.mode, 0777u);
  // Names in a directory every user may search are cached long; in one
  // some may not, never (the kernel must look them up to check search
  // permission), and a chmod that restricts it lists its names to recheck.
  auto d = v.Mkdir(kRootIno, "d", 0755, Cred());
  ASSERT_TRUE(d.ok());
  auto sub = v.Mkdir(d->ino, "sub", 0755, Cred());
  ASSERT_TRUE(sub.ok());
  EXPECT_GT(sub->entry_timeout, 0);
  EXPECT_TRUE(v.NamesToRecheck(d->ino).empty());
  chmod.mode = 0750;
  ASSERT_TRUE(v.SetAttr(d->ino, chmod, Cred()).ok());
  EXPECT_EQ(v.NamesToRecheck(d->ino), std::vector<std::string>{"sub"});
  auto again = v.Lookup(d->ino, "sub", Cred());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->entry_timeout, 0);
  EXPECT_EQ(v.Lookup(d->ino, "sub", nobody).status().sys_errno(), EACCES);
}

// Recovery replays the journal into the same result a commit would give.
// A reload that makes a directory not searchable by everybody invalidates
// the names the kernel may have cached in it (see NamesToRecheck).
TEST_F(ViewTest, ReloadThatRestrictsADirectoryInvalidatesItsNames) {
  Seed({{"d/x", "X"}});
  MountServer& a = Server();
  View& v = a.view();
  const Ino d = Find(v, kRootIno, "d");
  auto x = v.Lookup(d, "x", Cred());
  ASSERT_TRUE(x.ok());
  EXPECT_GT(x->entry_timeout, 0);
  MountServer& b = Server();
  SetAttrIn chmod;
  chmod.mode = 0700;
  ASSERT_TRUE(b.view().SetAttr(Find(b.view(), kRootIno, "d"), chmod, Cred()).ok());
  ASSERT_TRUE(b.Commit(CommitTrigger::kExplicit).ok());
  auto inv = a.Reload();
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  bool invalidated = false;
  for (const auto& [parent, name] : inv->expire) invalidated |= parent == d && name == "x";
  EXPECT_TRUE(invalidated);
  EXPECT_EQ(v.Lookup(d, "x", Cred(65534, 65534)).status().sys_errno(), EACCES);
  auto again = v.Lookup(d, "x", Cred());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->entry_timeout, 0);
}

TEST_F(ViewTest, JournalReplayMatchesTheView) {
  Seed({{"old", "O"}, {"d/x", "X"}});
  std::string mount_dir;
  {
    MountServer& s = Server();
    View& v = s.view();
    mount_dir = s.mount_dir();
    const Ino d = Find(v, kRootIno, "d");
    const Ino f = Create(v, d, "new", "first");
    auto h = v.Open(f, O_WRONLY, Cred());
    Write(v, h->handle, "FIRST");
    v.Release(h->handle);
    ASSERT_TRUE(v.Rename(d, "new", kRootIno, "top", 0, Cred()).ok());
    ASSERT_TRUE(v.Unlink(kRootIno, "old", Cred()).ok());
    auto sub = v.Mkdir(kRootIno, "sub", 0700, Cred());
    Create(v, sub->ino, "gone", "g");
    ASSERT_TRUE(v.Unlink(sub->ino, "gone", Cred()).ok());
    SetAttrIn chmod;
    chmod.mode = 0600;
    ASSERT_TRUE(v.SetAttr(Find(v, d, "x"), chmod, Cred()).ok());
    ASSERT_TRUE(v.Symlink(kRootIno, "ln", "top", Cred()).ok());
  }
  // A "crash": replay the mount directory without the server's help.
  auto cs = ReplayMountDir(mount_dir, &engine_->objects());
  ASSERT_TRUE(cs.ok()) << cs.status().ToString();
  auto vol = engine_->GetVolume("main", "v");
  ASSERT_TRUE(engine_->Commit(*vol, *cs, volume::CommitOptions()).ok());
  EXPECT_EQ(HeadFile("/top"), "FIRST");
  EXPECT_FALSE(HeadFile("/d/new"));
  EXPECT_FALSE(HeadFile("/old"));
  EXPECT_FALSE(HeadFile("/sub/gone"));
  EXPECT_EQ(HeadFile("/d/x"), "X");
  auto snap = engine_->Head(*vol);
  auto x = engine_->Lookup(*snap, {"d", "x"});
  EXPECT_EQ((*x)->mode(), 0600u);
  auto sub = engine_->Lookup(*snap, {"sub"});
  ASSERT_TRUE(sub->has_value());
  EXPECT_EQ((*sub)->mode(), 0700u);
  auto ln = engine_->Lookup(*snap, {"ln"});
  EXPECT_EQ((*ln)->symlink_target(), "top");
}

// A directory made in a dead mount whose path another mount committed in
// the meantime: replayed, it brings its xattrs (last writer wins per path).
TEST_F(ViewTest, ReplayedMkdirSetsTheXattrsOfAnExistingDirectory) {
  Seed({{"keep", "K"}});
  const std::string mount_dir = ChangesOfADeadMount([&](View& v) {
    auto sub = v.Mkdir(kRootIno, "sub", 0755, Cred());
    ASSERT_TRUE(sub.ok());
    ASSERT_TRUE(v.SetXattr(sub->ino, "user.a", "1", 0, Cred()).ok());
  });
  {
    MountServer& b = Server();
    auto sub = b.view().Mkdir(kRootIno, "sub", 0755, Cred());
    ASSERT_TRUE(sub.ok());
    ASSERT_TRUE(b.view().SetXattr(sub->ino, "user.b", "2", 0, Cred()).ok());
    ASSERT_TRUE(b.Commit(CommitTrigger::kExplicit).ok());
  }
  ReplayAndCommit(mount_dir);
  std::optional<objects::Entry> sub = HeadEntry("/sub");
  ASSERT_TRUE(sub);
  ASSERT_EQ(sub->xattrs_size(), 1);
  EXPECT_EQ(sub->xattrs(0).name(), "user.a");
  EXPECT_EQ(sub->xattrs(0).value(), "1");
  EXPECT_EQ(HeadFile("/keep"), "K");
}

// An xattr set on a committed directory is journaled without the
// directory's tree: replayed, it changes the xattrs and keeps what was made
// below it before and what other mounts committed there meanwhile.
TEST_F(ViewTest, ReplayedXattrOfACommittedDirectoryKeepsItsChildren) {
  Seed({{"d/x", "X"}});
  const std::string mount_dir = ChangesOfADeadMount([&](View& v) {
    const Ino d = Find(v, kRootIno, "d");
    Create(v, d, "new", "N");
    ASSERT_TRUE(v.SetXattr(d, "user.a", "1", 0, Cred()).ok());
  });
  {
    MountServer& b = Server();
    Create(b.view(), Find(b.view(), kRootIno, "d"), "other", "O");
    ASSERT_TRUE(b.Commit(CommitTrigger::kExplicit).ok());
  }
  ReplayAndCommit(mount_dir);
  EXPECT_EQ(HeadFile("/d/new"), "N");
  EXPECT_EQ(HeadFile("/d/x"), "X");
  EXPECT_EQ(HeadFile("/d/other"), "O");
  std::optional<objects::Entry> d = HeadEntry("/d");
  ASSERT_TRUE(d);
  ASSERT_EQ(d->xattrs_size(), 1);
  EXPECT_EQ(d->xattrs(0).name(), "user.a");
}

// A mount that only read a directory's xattrs and then changed its mode
// commits the mode, not its stale copy of the xattrs.
TEST_F(ViewTest, ChmodOfADirectoryWhoseXattrsWereReadKeepsOtherMountsXattrs) {
  Seed({{"d/x", "X"}});
  {
    MountServer& first = Server();
    ASSERT_TRUE(
        first.view().SetXattr(Find(first.view(), kRootIno, "d"), "user.a", "1", 0, Cred()).ok());
    ASSERT_TRUE(first.Commit(CommitTrigger::kExplicit).ok());
  }
  MountServer& a = Server();
  const Ino d = Find(a.view(), kRootIno, "d");
  auto got = a.view().GetXattr(d, "user.a", Cred());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "1");
  {
    MountServer& b = Server();
    ASSERT_TRUE(b.view().SetXattr(Find(b.view(), kRootIno, "d"), "user.b", "2", 0, Cred()).ok());
    ASSERT_TRUE(b.Commit(CommitTrigger::kExplicit).ok());
  }
  SetAttrIn chmod;
  chmod.mode = 0700;
  ASSERT_TRUE(a.view().SetAttr(d, chmod, Cred()).ok());
  ASSERT_TRUE(a.Commit(CommitTrigger::kExplicit).ok());
  std::optional<objects::Entry> entry = HeadEntry("/d");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->mode() & 07777, 0700u);
  ASSERT_EQ(entry->xattrs_size(), 2);
  EXPECT_EQ(entry->xattrs(1).name(), "user.b");
}

TEST_F(ViewTest, ReplayStopsAtATornRecord) {
  std::string mount_dir;
  {
    MountServer& s = Server();
    mount_dir = s.mount_dir();
    Create(s.view(), kRootIno, "a", "1");
    Create(s.view(), kRootIno, "b", "2");
  }
  const std::string journal = MountDirLayout(mount_dir).JournalFile(1);
  const auto size = stdfs::file_size(journal);
  stdfs::resize_file(journal, size - 3);  // tear the last record (b's PUT)
  auto cs = ReplayMountDir(mount_dir, &engine_->objects());
  ASSERT_TRUE(cs.ok());
  auto vol = engine_->GetVolume("main", "v");
  ASSERT_TRUE(engine_->Commit(*vol, *cs, volume::CommitOptions()).ok());
  EXPECT_EQ(HeadFile("/a"), "1");
  EXPECT_FALSE(HeadFile("/b"));
}

// Each mount's write layer is spread over the file system's block groups
// (see SpreadChildren in mount_server.cc).
TEST_F(ViewTest, MountDirectoriesAreSpreadOverBlockGroups) {
  Server();
  int fd = ::open((State() + "/mounts").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  int flags = 0;
  const bool supported = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
  ::close(fd);
  if (!supported) GTEST_SKIP() << "no inode flags on this file system";
  EXPECT_NE(flags & FS_TOPDIR_FL, 0);
}

TEST_F(ViewTest, RecoverCommitsDeadMountsOnly) {
  std::string dead_dir;
  {
    MountServer& s = Server();
    dead_dir = s.mount_dir();
    Create(s.view(), kRootIno, "from-dead", "d");
  }
  // Simulate a crash: the server object goes away without Shutdown (its
  // lock is released, its state directory stays).
  servers_.clear();
  MountServer& live = Server();
  Create(live.view(), kRootIno, "from-live", "l");
  // The live server recovered the dead one when it opened.
  EXPECT_EQ(HeadFile("/from-dead"), "d");
  EXPECT_FALSE(stdfs::exists(dead_dir));
  auto report = RecoverMounts(*engine_, State());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->mounts.empty());  // the live one is locked
  EXPECT_FALSE(HeadFile("/from-live"));
}

// A server creates its state directory, then takes its lock, then writes
// mount.json. A recoverer (another mount starting) that took such a
// directory for a dead server's removed it, and the new mount failed ("lock
// file ... is held by another process", "mkdir .../data: No such file";
// found by e2e/soak_e2e_test.cc with 16 mounts starting at once).
TEST_F(ViewTest, RecoverLeavesAStartingMountAlone) {
  const StateLayout state(State());
  const MountDirLayout starting(state.MountDir("starting"));
  ASSERT_TRUE(core::Env::Default()->CreateDirs(starting.DataDir()).ok());
  auto report = RecoverMounts(*engine_, State());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->mounts.empty());
  EXPECT_TRUE(stdfs::exists(starting.DataDir()));
  // The starting server can still take its lock.
  EXPECT_TRUE(core::Env::Default()->TryLockFile(starting.LockFile()).ok());

  // One that has had no mount.json for long died starting: removed, and so
  // is what a recoverer that died while removing a directory left.
  const struct timespec old[2] = {{::time(nullptr) - 3600, 0}, {::time(nullptr) - 3600, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, starting.dir().c_str(), old, 0), 0);
  ASSERT_TRUE(core::Env::Default()->CreateDirs(state.MountsDir() + "/.gone-x/data").ok());
  report = RecoverMounts(*engine_, State());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->mounts.empty());
  EXPECT_TRUE(stdfs::is_empty(state.MountsDir()));
}

TEST_F(ViewTest, DeferredFileStaysPendingAndJournaled) {
  MountServer& s = Server();
  View& v = s.view();
  auto r = v.Create(kRootIno, "open", 0644, O_WRONLY | O_CREAT, Cred());
  ASSERT_TRUE(r.ok());
  Write(v, r->second.handle, "partial");
  Create(v, kRootIno, "closed", "done");
  // A background commit leaves files open for writing alone.
  auto c = s.Commit(CommitTrigger::kBackground);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->deferred, 1u);
  EXPECT_EQ(HeadFile("/closed"), "done");
  EXPECT_FALSE(HeadFile("/open"));
  EXPECT_GT(v.PendingCount(), 0u);
  // It was journaled again: recovery would still find it.
  auto cs = ReplayMountDir(s.mount_dir(), &engine_->objects());
  ASSERT_TRUE(cs.ok());
  bool found = false;
  for (const auto& op : cs->ops()) found |= op.path == volume::Path{"open"};
  EXPECT_TRUE(found);
  v.Release(r->second.handle);
  c = s.Commit(CommitTrigger::kBackground);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->deferred, 0u);
  EXPECT_EQ(HeadFile("/open"), "partial");
}

// Changes made while a commit runs (after it was planned, before it lands)
// are published by the next commit, and nothing that commit published
// survives a change that removed it (issue 11: renames came back as copies).
TEST_F(ViewTest, RenameWhileACommitRunsIsNotPublishedAsACopy) {
  MountServer& s = Server();
  View& v = s.view();
  Create(v, kRootIno, "a", "A");
  auto d = v.Mkdir(kRootIno, "d", 0755, Cred());
  ASSERT_TRUE(d.ok());
  Create(v, d->ino, "f", "F");
  s.SetAfterPlanHookForTest([&, once = true]() mutable {
    if (!std::exchange(once, false)) return;
    ASSERT_TRUE(v.Rename(kRootIno, "a", kRootIno, "a2", 0, Cred()).ok());
    ASSERT_TRUE(v.Rename(kRootIno, "d", kRootIno, "d2", 0, Cred()).ok());
  });
  ASSERT_TRUE(s.Commit(CommitTrigger::kBackground).ok());
  EXPECT_EQ(HeadFile("/a"), "A");  // the commit took the state it planned
  EXPECT_GT(v.PendingCount(), 0u);
  ASSERT_TRUE(s.Commit(CommitTrigger::kBackground).ok());
  EXPECT_FALSE(HeadEntry("/a"));
  EXPECT_FALSE(HeadEntry("/d"));
  EXPECT_EQ(HeadFile("/a2"), "A");
  EXPECT_EQ(HeadFile("/d2/f"), "F");
  EXPECT_EQ(v.PendingCount(), 0u);
}

TEST_F(ViewTest, UnlinkAndRmdirWhileACommitRunsDeleteWhatItPublished) {
  MountServer& s = Server();
  View& v = s.view();
  Create(v, kRootIno, "x", "X");
  auto d = v.Mkdir(kRootIno, "d", 0755, Cred());
  ASSERT_TRUE(d.ok());
  Create(v, d->ino, "f", "F");
  s.SetAfterPlanHookForTest([&, once = true]() mutable {
    if (!std::exchange(once, false)) return;
    ASSERT_TRUE(v.Unlink(kRootIno, "x", Cred()).ok());
    ASSERT_TRUE(v.Unlink(d->ino, "f", Cred()).ok());
    ASSERT_TRUE(v.Rmdir(kRootIno, "d", Cred()).ok());
  });
  ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
  EXPECT_EQ(HeadFile("/x"), "X");
  ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
  EXPECT_FALSE(HeadEntry("/x"));
  EXPECT_FALSE(HeadEntry("/d"));
  EXPECT_EQ(v.PendingCount(), 0u);
}

// A directory moved away while a commit publishes it, and a new one made
// at its name: the head's copy must not leak its children into the new one.
TEST_F(ViewTest, DirectoryRecreatedWhileACommitRunsStartsEmpty) {
  MountServer& s = Server();
  View& v = s.view();
  auto d = v.Mkdir(kRootIno, "d", 0755, Cred());
  ASSERT_TRUE(d.ok());
  Create(v, d->ino, "f", "F");
  s.SetAfterPlanHookForTest([&, once = true]() mutable {
    if (!std::exchange(once, false)) return;
    ASSERT_TRUE(v.Rename(kRootIno, "d", kRootIno, "e", 0, Cred()).ok());
    ASSERT_TRUE(v.Mkdir(kRootIno, "d", 0700, Cred()).ok());
  });
  ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
  ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
  auto head_d = HeadEntry("/d");
  ASSERT_TRUE(head_d);
  EXPECT_EQ(head_d->mode(), 0700u);
  EXPECT_FALSE(HeadEntry("/d/f"));
  EXPECT_EQ(HeadFile("/e/f"), "F");
}

// A commit that did not land published nothing: a name created before it
// and removed while it ran leaves nothing to publish (no delete that could
// remove another mount's file of that name).
TEST_F(ViewTest, NameRemovedWhileAFailedCommitRanLeavesNothingPending) {
  MountServer& s = Server();
  View& v = s.view();
  Create(v, kRootIno, "x", "X");
  auto plan = s.committer().Plan(false);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(v.Unlink(kRootIno, "x", Cred()).ok());
  EXPECT_EQ(v.PendingCount(), 1u);  // a whiteout: the commit may still land
  ASSERT_TRUE(s.committer().Finish(*plan, false, {}).ok());
  EXPECT_EQ(v.PendingCount(), 0u);
  // And one that landed leaves the delete pending.
  Create(v, kRootIno, "y", "Y");
  plan = s.committer().Plan(false);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(v.Unlink(kRootIno, "y", Cred()).ok());
  ASSERT_TRUE(s.committer().Finish(*plan, true, {}).ok());
  EXPECT_EQ(v.PendingCount(), 1u);
}

// Found by the stress test (seed 1, one worker): a directory's xattrs and
// mode, committed, were lost when a commit re-published a moved ancestor
// from the mount's base tree. Every placement of commits and reloads.
TEST_F(ViewTest, CommittedStateOfADirectorySurvivesAMoveOfItsParent) {
  ForEveryReloadPlacement(5, [&](MountServer& s, const std::string& vol, const Step& step) {
    View& v = s.view();
    ASSERT_TRUE(v.Mkdir(kRootIno, "a", 0755, Cred()).ok());
    auto b = v.Mkdir(kRootIno, "b", 0755, Cred());
    ASSERT_TRUE(b.ok());
    auto d = v.Mkdir(b->ino, "a", 0700, Cred());
    ASSERT_TRUE(d.ok());
    step(0);
    Ino bi = Find(v, kRootIno, "b");
    Ino di = Find(v, bi, "a");
    ASSERT_TRUE(v.SetXattr(di, "user.k1", "value", 0, Cred()).ok());
    SetAttrIn chmod;
    chmod.mode = 0750;
    ASSERT_TRUE(v.SetAttr(di, chmod, Cred()).ok());
    step(1);
    step(2);
    Ino ai = Find(v, kRootIno, "a");
    ASSERT_TRUE(v.Rename(kRootIno, "b", ai, "b", 0, Cred()).ok());
    step(3);
    step(4);
    Ino bi2 = Find(v, ai, "b");
    Ino di2 = Find(v, bi2, "a");
    auto x = v.GetXattr(di2, "user.k1", Cred());
    EXPECT_TRUE(x.ok() && *x == "value") << x.status().ToString();
    EXPECT_EQ(v.GetAttr(di2)->attr.mode, 0750u);
    auto e = HeadEntry("/a/b/a", vol);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->xattrs_size(), 1);
    EXPECT_EQ(e->mode(), 0750u);
  });
}

// Found by the stress test (seed 22, one worker): files of a moved
// directory that the mount never opened were published without content
// (a Put from a node whose entry was never loaded), and a chmod of one
// of them took its content too.
TEST_F(ViewTest, MovedDirectoryKeepsTheContentOfFilesNeverOpened) {
  Seed({{"b/c/a", "never opened"}, {"b/c/m", "chmod only"}});
  MountServer& s = Server();
  View& v = s.view();
  const Ino b = Find(v, kRootIno, "b");
  const Ino c = Find(v, b, "c");
  ASSERT_NE(Find(v, c, "a"), 0u);  // looked up, not opened
  SetAttrIn chmod;
  chmod.mode = 0600;
  ASSERT_TRUE(v.SetAttr(Find(v, c, "m"), chmod, Cred()).ok());
  auto dst = v.Mkdir(kRootIno, "c", 0755, Cred());
  ASSERT_TRUE(dst.ok());
  ASSERT_TRUE(v.Rename(b, "c", dst->ino, "a", 0, Cred()).ok());
  ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
  EXPECT_EQ(HeadFile("/c/a/a"), "never opened");
  EXPECT_EQ(HeadFile("/c/a/m"), "chmod only");
  auto m = HeadEntry("/c/a/m");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->mode(), 0600u);
  EXPECT_FALSE(HeadEntry("/b/c"));
}

// Found by the stress test (seed 32, one worker): an open with O_TRUNC of a
// base file with xattrs gave it content but not its entry, and the commit
// published the file without its xattrs. Every placement of reloads.
TEST_F(ViewTest, TruncatingOpenOfACommittedFileKeepsItsXattrs) {
  ForEveryReloadPlacement(6, [&](MountServer& s, const std::string& vol, const Step& step) {
    View& v = s.view();
    auto c = v.Mkdir(kRootIno, "c", 0755, Cred());
    Create(v, c->ino, "a", "aaaa");
    Create(v, c->ino, "c", "cccc");
    step(0);
    Ino ci = Find(v, kRootIno, "c");
    Ino fa = Find(v, ci, "a");
    ASSERT_TRUE(v.SetXattr(fa, "user.k2", "value", 0, Cred()).ok());
    step(1);
    ASSERT_TRUE(v.Rename(ci, "a", ci, "c", 0, Cred()).ok());
    step(2);
    auto r = v.Create(ci, "c", 0600, O_WRONLY | O_CREAT | O_TRUNC, Cred());
    ASSERT_TRUE(r.ok());
    Write(v, r->second.handle, "new content");
    v.Release(r->second.handle);
    step(3);
    step(4);
    step(5);
    Ino f2 = Find(v, ci, "c");
    auto x = v.GetXattr(f2, "user.k2", Cred());
    EXPECT_TRUE(x.ok() && *x == "value") << x.status().ToString();
    auto e = HeadEntry("/c/c", vol);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->xattrs_size(), 1);
  });
}

// Found by the stress test (seed 22, one worker): renaming the only name of
// a hard-linked file the mount had looked up unregistered its link group,
// and its other name, looked up later, became a second inode.
TEST_F(ViewTest, RenamedHardLinkStaysOneInode) {
  ForEveryReloadPlacement(6, [&](MountServer& s, const std::string& vol, const Step& step) {
    View& v = s.view();
    auto b = v.Mkdir(kRootIno, "b", 0755, Cred());
    auto bc = v.Mkdir(b->ino, "c", 0755, Cred());
    ASSERT_TRUE(v.Mknod(bc->ino, "b", S_IFSOCK | 0644, 0, Cred()).ok());
    step(0);
    Ino bi = Find(v, kRootIno, "b");
    Ino bci = Find(v, bi, "c");
    Ino sock = Find(v, bci, "b");
    ASSERT_TRUE(v.Link(sock, bi, "b", Cred()).ok());
    step(1);
    auto c = v.Mkdir(kRootIno, "c", 0755, Cred());
    step(2);
    bi = Find(v, kRootIno, "b");
    ASSERT_TRUE(v.Rename(bi, "c", c->ino, "a", 0, Cred()).ok());
    step(3);
    bi = Find(v, kRootIno, "b");
    ASSERT_TRUE(v.Rename(bi, "b", c->ino, "c", 0, Cred()).ok());
    step(4);
    Ino ca = Find(v, c->ino, "a");
    Ino x = Find(v, ca, "b");
    Ino y = Find(v, c->ino, "c");
    EXPECT_EQ(x, y);
    EXPECT_EQ(v.GetAttr(x)->nlink, 2u);
  });
}

// A node a reload replaced may still be reached through a kernel entry the
// reload's invalidation has not reached yet: operations through it answer
// ESTALE, so the kernel looks the path up again (found by the stress test:
// link() of a name that existed in both versions failed with ENOENT).
TEST_F(ViewTest, NodeReplacedByAReloadIsStaleNotMissing) {
  Seed({{"f", "1"}, {"d/x", "X"}, {"gone", "G"}});
  MountServer& s = Server();
  View& v = s.view();
  const Ino f = Find(v, kRootIno, "f");
  const Ino d = Find(v, kRootIno, "d");
  const Ino gone = Find(v, kRootIno, "gone");
  ASSERT_NE(Find(v, d, "x"), 0u);
  ASSERT_TRUE(v.Unlink(kRootIno, "gone", Cred()).ok());
  Seed({{"f", "2"}, {"d", "now a file"}});
  ASSERT_TRUE(s.Reload().ok());
  EXPECT_EQ(v.Link(f, kRootIno, "g", Cred()).status().sys_errno(), ESTALE);
  EXPECT_EQ(v.SetXattr(f, "user.a", "1", 0, Cred()).sys_errno(), ESTALE);
  SetAttrIn chmod;
  chmod.mode = 0600;
  EXPECT_EQ(v.SetAttr(f, chmod, Cred()).status().sys_errno(), ESTALE);
  EXPECT_EQ(v.Mkdir(d, "y", 0755, Cred()).status().sys_errno(), ESTALE);
  EXPECT_EQ(v.Unlink(d, "x", Cred()).sys_errno(), ESTALE);
  EXPECT_EQ(v.Rename(d, "x", kRootIno, "moved", 0, Cred()).sys_errno(), ESTALE);
  EXPECT_EQ(v.Rename(kRootIno, "f", d, "f", 0, Cred()).sys_errno(), ESTALE);
  // New opens, lookups and stats through the old nodes too (a write to the
  // old node would be lost with it).
  EXPECT_EQ(v.Open(f, O_WRONLY, Cred()).status().sys_errno(), ESTALE);
  EXPECT_EQ(v.Open(f, O_RDONLY, Cred()).status().sys_errno(), ESTALE);
  EXPECT_EQ(v.Lookup(d, "x", Cred()).status().sys_errno(), ESTALE);
  EXPECT_EQ(v.OpenDir(d, Cred()).status().sys_errno(), ESTALE);
  EXPECT_EQ(v.GetAttr(f).status().sys_errno(), ESTALE);
  // What this mount removed itself stays ENOENT.
  EXPECT_EQ(v.Link(gone, kRootIno, "g", Cred()).status().sys_errno(), ENOENT);
  // The names themselves lead to the new nodes.
  const Ino f2 = Find(v, kRootIno, "f");
  EXPECT_NE(f2, f);
  EXPECT_TRUE(v.Link(f2, kRootIno, "g", Cred()).ok());
  EXPECT_EQ(Read(v, f2), "2");
  ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
  EXPECT_EQ(HeadFile("/g"), "2");
  EXPECT_EQ(HeadFile("/d"), "now a file");
}

// Found by the stress test (seed 69, no hard links): a chmod committed on
// its own, then an ancestor moved before any reload: the move re-published
// the base tree and took the mode back.
TEST_F(ViewTest, MovedDirectoryKeepsACommittedChmodBelowIt) {
  Seed({{"a/c/f", "x"}});
  MountServer& s = Server();
  View& v = s.view();
  const Ino a = Find(v, kRootIno, "a");
  const Ino f = Find(v, Find(v, a, "c"), "f");
  SetAttrIn chmod;
  chmod.mode = 0755;
  ASSERT_TRUE(v.SetAttr(f, chmod, Cred()).ok());
  ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
  ASSERT_TRUE(v.Rename(kRootIno, "a", kRootIno, "z", 0, Cred()).ok());
  ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
  auto e = HeadEntry("/z/c/f");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->mode(), 0755u);
  EXPECT_EQ(HeadFile("/z/c/f"), "x");
}

// Found by view_random_test (seed 94): a file that was already kept (made
// here), renamed into a base directory, did not make that directory kept;
// once committed, a move of an ancestor re-published the base tree without
// it.
TEST_F(ViewTest, FileMovedIntoABaseDirectorySurvivesAMoveOfThatDirectory) {
  Seed({{"b/b/keep", "k"}});
  MountServer& s = Server();
  View& v = s.view();
  Create(v, kRootIno, "c", "made here");
  const Ino b = Find(v, kRootIno, "b");
  ASSERT_TRUE(v.Rename(kRootIno, "c", Find(v, b, "b"), "c", 0, Cred()).ok());
  ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
  ASSERT_TRUE(v.Rename(kRootIno, "b", kRootIno, "z", 0, Cred()).ok());
  ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
  EXPECT_EQ(HeadFile("/z/b/c"), "made here");
  EXPECT_EQ(HeadFile("/z/b/keep"), "k");
}

// Found by view_random_test (seed 861): a setxattr journaled the committed
// file with its base content; the first write then copied it up but did
// not journal the upper file (same generation), so recovery replayed the
// content from before the write.
TEST_F(ViewTest, RecoveryKeepsAWriteThatFollowedAnXattrChange) {
  Seed({{"f", "old content"}});
  const std::string dead = ChangesOfADeadMount([](View& v) {
    const Ino f = Find(v, kRootIno, "f");
    ASSERT_TRUE(v.SetXattr(f, "user.k", "v", 0, Cred()).ok());
    auto h = v.Open(f, O_WRONLY, Cred());
    ASSERT_TRUE(h.ok());
    Write(v, h->handle, "NEW");
    v.Release(h->handle);
  });
  servers_.clear();
  ReplayAndCommit(dead);
  EXPECT_EQ(HeadFile("/f"), "NEW content");
  auto e = HeadEntry("/f");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->xattrs_size(), 1);
}

// Deletes `path` (and everything below it) in the head, as another mount
// or a `volume rm` would.
void DeleteInHead(volume::Engine& engine, const std::string& path) {
  volume::ChangeSet cs;
  ASSERT_TRUE(cs.Delete(path).ok());
  auto vol = engine.GetVolume("main", "v");
  ASSERT_TRUE(engine.Commit(*vol, cs, volume::CommitOptions()).ok());
}

std::vector<std::string> XattrsOf(const std::optional<objects::Entry>& e) {
  std::vector<std::string> out;
  if (!e) return out;
  for (const objects::Xattr& x : e->xattrs()) out.push_back(x.name() + "=" + x.value());
  return out;
}

// Gap closed by issue 13: the volume root's xattrs are committed (a Mkdir
// of the root), so a fresh mount shows them.
TEST_F(ViewTest, RootXattrsAreCommitted) {
  {
    MountServer& s = Server();
    Status set = s.view().SetXattr(kRootIno, "user.x", "1", 0, Cred());
    ASSERT_TRUE(set.ok()) << set.ToString();
    EXPECT_EQ(s.view().PendingCount(), 1u);
    ASSERT_TRUE(s.Commit(CommitTrigger::kExplicit).ok());
    EXPECT_EQ(s.view().PendingCount(), 0u);
  }
  MountServer& fresh = Server();
  auto got = fresh.view().GetXattr(kRootIno, "user.x", Cred());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "1");
  // And removed again.
  ASSERT_TRUE(fresh.view().RemoveXattr(kRootIno, "user.x", Cred()).ok());
  ASSERT_TRUE(fresh.Commit(CommitTrigger::kExplicit).ok());
  MountServer& again = Server();
  EXPECT_EQ(again.view().GetXattr(kRootIno, "user.x", Cred()).status().sys_errno(), ENODATA);
}

// The root's xattrs survive a crash too: journaled, replayed by recovery.
TEST_F(ViewTest, ReplayedRootXattrsAreCommitted) {
  const std::string mount_dir = ChangesOfADeadMount([&](View& v) {
    ASSERT_TRUE(v.SetXattr(kRootIno, "user.x", "1", 0, Cred()).ok());
    Create(v, kRootIno, "f", "F");
  });
  ReplayAndCommit(mount_dir);
  MountServer& fresh = Server();
  auto got = fresh.view().GetXattr(kRootIno, "user.x", Cred());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "1");
  EXPECT_EQ(HeadFile("/f"), "F");
}

// Gap closed by issue 13: a directory another mount deleted while this
// mount holds changes below it is kept with those changes — and with its
// own xattrs and those of the directories below it, not empty ones.
TEST_F(ViewTest, DirectoryDeletedElsewhereKeepsItsXattrsAndTheChangesBelow) {
  Seed({{"d/e/x", "X"}, {"d/f", "F"}});
  {
    MountServer& first = Server();
    View& v = first.view();
    const Ino d = Find(v, kRootIno, "d");
    ASSERT_TRUE(v.SetXattr(d, "user.d", "1", 0, Cred()).ok());
    ASSERT_TRUE(v.SetXattr(Find(v, d, "e"), "user.e", "1", 0, Cred()).ok());
    ASSERT_TRUE(first.Commit(CommitTrigger::kExplicit).ok());
  }
  MountServer& a = Server();
  View& v = a.view();
  const Ino d = Find(v, kRootIno, "d");
  const Ino e = Find(v, d, "e");
  ASSERT_TRUE(v.SetXattr(e, "user.e2", "2", 0, Cred()).ok());
  ASSERT_TRUE(v.SetXattr(Find(v, d, "f"), "user.f", "3", 0, Cred()).ok());
  Create(v, d, "new", "N");
  DeleteInHead(*engine_, "/d");
  ASSERT_TRUE(a.Reload().ok());
  auto shown = v.GetXattr(d, "user.d", Cred());
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_EQ(*shown, "1");
  ASSERT_TRUE(a.Commit(CommitTrigger::kExplicit).ok());
  EXPECT_EQ(XattrsOf(HeadEntry("/d")), std::vector<std::string>{"user.d=1"});
  EXPECT_EQ(XattrsOf(HeadEntry("/d/e")), (std::vector<std::string>{"user.e=1", "user.e2=2"}));
  EXPECT_EQ(XattrsOf(HeadEntry("/d/f")), std::vector<std::string>{"user.f=3"});
  EXPECT_EQ(HeadFile("/d/new"), "N");
  EXPECT_EQ(HeadFile("/d/f"), "F");
}

}  // namespace
}  // namespace snapvol::fs
