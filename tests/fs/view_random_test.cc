// A deterministic model test of the View, without a kernel: random
// operations (tests/testing/random_ops.h) run first on a plain directory —
// the model — and, where the model accepted them, on a View, with commits,
// reloads, kernel forgets and operations inside a running commit (the
// window between planning and landing) at random points. At the end the
// View must show the model, and so must a fresh mount of the head after a
// final commit (even seeds) or after recovery replayed the journal (odd
// seeds). Everything is single-threaded, so a failing seed replays exactly:
//   SNAPVOL_VIEW_SEED=N build/tests/fs/fs_test --gtest_filter='ViewRandom*'
// SNAPVOL_VIEW_SEEDS (default 300) and SNAPVOL_VIEW_STEPS (default 300)
// size the run. The e2e stress test (e2e/stress_e2e_test.cc) runs the same
// operations through a real mount, concurrently.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <sstream>

#include "driver/core/hash.h"
#include "driver/fs/mount_server.h"
#include "driver/fs/posix_error.h"
#include "driver/fs/recovery.h"
#include "driver/fs/view.h"
#include "tests/testing/env_number.h"
#include "tests/testing/random_ops.h"
#include "tests/testing/tree_snapshot.h"

namespace snapvol::fs {
namespace {

namespace stdfs = std::filesystem;
using testing::EnvNumber;
using testing::MakeOp;
using testing::NamePool;
using testing::Op;
using testing::RunOp;
using testing::SnapshotOptions;
using testing::TreeEntry;
using testing::TreeSnapshot;

constexpr mode_t kUmask = 022;

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream in(path);
  std::string part;
  while (std::getline(in, part, '/')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// Drives one View the way the kernel would: every path is looked up from the
// root (symlinks followed as the kernel does), every reference counted so
// that it can be forgotten again.
class Driver {
 public:
  explicit Driver(View& v) : v_(v) {}

  // Where `path` leads: the directory holding its last component, that
  // name, and the node there (0 if absent). `follow` follows a symlink in
  // the last component too. Not ok if the path cannot be walked.
  struct Place {
    Ino dir = kRootIno;
    std::string name;
    Ino ino = 0;
    NodeType type = NodeType::kFile;
  };
  Result<Place> Resolve(const std::string& path, bool follow) {
    int hops = 0;
    return ResolveIn(kRootIno, Split(path), follow, &hops);
  }

  Status Apply(const Op& op) {
    Cred root;
    switch (op.kind) {
      case Op::Kind::kCreate:
      case Op::Kind::kWrite:
      case Op::Kind::kFsync: {
        ASSIGN_OR_RETURN(Place p, Resolve(op.path, true));
        Handle* h = nullptr;
        if (p.ino == 0) {
          if (op.kind != Op::Kind::kCreate) return PosixError(ENOENT, "absent");
          ASSIGN_OR_RETURN(auto made, v_.Create(p.dir, p.name, S_IFREG | (op.mode & ~kUmask),
                                                O_WRONLY | O_CREAT, root));
          Ref(made.first.ino);
          h = made.second.handle;
        } else {
          const int flags = O_WRONLY | (op.kind == Op::Kind::kCreate ? O_TRUNC : 0);
          ASSIGN_OR_RETURN(OpenOut o, v_.Open(p.ino, flags, root));
          h = o.handle;
        }
        const uint64_t off = op.kind == Op::Kind::kCreate ? 0 : op.offset;
        Status st = Status::Ok();
        if (!op.data.empty()) {
          Result<View::WriteTicket> t = v_.BeginWrite(h, root, false);
          Result<size_t> n = t.ok() ? t->use().Pwrite(op.data, off) : t.status();
          st = n.ok() ? v_.EndWrite(std::move(*t), off, *n) : n.status();
        }
        if (st.ok() && op.kind == Op::Kind::kFsync) st = v_.Fsync(h, false);
        v_.Release(h);
        return st;
      }
      case Op::Kind::kTruncate: {
        ASSIGN_OR_RETURN(Place p, Existing(op.path, true));
        SetAttrIn in;
        in.size = op.offset;
        return v_.SetAttr(p.ino, in, root).status();
      }
      case Op::Kind::kRename: {
        ASSIGN_OR_RETURN(Place a, Existing(op.path, false));
        ASSIGN_OR_RETURN(Place b, Resolve(op.path2, false));
        return v_.Rename(a.dir, a.name, b.dir, b.name, 0, root);
      }
      case Op::Kind::kLink: {
        ASSIGN_OR_RETURN(Place a, Existing(op.path, false));
        ASSIGN_OR_RETURN(Place b, Resolve(op.path2, false));
        ASSIGN_OR_RETURN(EntryOut e, v_.Link(a.ino, b.dir, b.name, root));
        Ref(e.ino);
        return Status::Ok();
      }
      case Op::Kind::kUnlink: {
        ASSIGN_OR_RETURN(Place p, Existing(op.path, false));
        return v_.Unlink(p.dir, p.name, root);
      }
      case Op::Kind::kMkdir: {
        ASSIGN_OR_RETURN(Place p, Resolve(op.path, false));
        ASSIGN_OR_RETURN(EntryOut e, v_.Mkdir(p.dir, p.name, op.mode & ~kUmask, root));
        Ref(e.ino);
        return Status::Ok();
      }
      case Op::Kind::kRmdir: {
        ASSIGN_OR_RETURN(Place p, Existing(op.path, false));
        return v_.Rmdir(p.dir, p.name, root);
      }
      case Op::Kind::kSymlink: {
        ASSIGN_OR_RETURN(Place p, Resolve(op.path, false));
        ASSIGN_OR_RETURN(EntryOut e, v_.Symlink(p.dir, p.name, op.target, root));
        Ref(e.ino);
        return Status::Ok();
      }
      case Op::Kind::kMknod: {
        ASSIGN_OR_RETURN(Place p, Resolve(op.path, false));
        const uint32_t mode = (op.mode & S_IFMT) | ((op.mode & 07777) & ~kUmask);
        ASSIGN_OR_RETURN(EntryOut e, v_.Mknod(p.dir, p.name, mode, 0, root));
        Ref(e.ino);
        return Status::Ok();
      }
      case Op::Kind::kChmod: {
        ASSIGN_OR_RETURN(Place p, Existing(op.path, true));
        SetAttrIn in;
        in.mode = op.mode;
        return v_.SetAttr(p.ino, in, root).status();
      }
      case Op::Kind::kSetXattr: {
        ASSIGN_OR_RETURN(Place p, Existing(op.path, true));
        return v_.SetXattr(p.ino, op.xattr, op.data, 0, root);
      }
      case Op::Kind::kRemoveXattr: {
        ASSIGN_OR_RETURN(Place p, Existing(op.path, true));
        return v_.RemoveXattr(p.ino, op.xattr, root);
      }
    }
    return Status::Internal("unknown op");
  }

  // The kernel drops some of its references (memory pressure, dentry
  // eviction): each known inode with probability 1/`one_in`.
  void ForgetSome(std::mt19937_64& rng, int one_in) {
    for (auto it = refs_.begin(); it != refs_.end();) {
      if (rng() % static_cast<uint64_t>(one_in) == 0) {
        v_.Forget(it->first, it->second);
        it = refs_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // What the View shows, as tests/testing/tree_snapshot.h would read it
  // through a mount.
  TreeSnapshot Snapshot() {
    TreeSnapshot out;
    std::map<Ino, std::vector<std::string>> inodes;
    Walk(kRootIno, "", &out, &inodes);
    for (const auto& [ino, paths] : inodes) {
      if (paths.size() < 2) continue;
      for (const std::string& p : paths) {
        std::vector<std::string> others;
        for (const std::string& q : paths) {
          if (q != p) others.push_back(q);
        }
        std::sort(others.begin(), others.end());
        std::string joined;
        for (const std::string& q : others) joined += (joined.empty() ? "" : ",") + q;
        out[p].links = joined;
      }
    }
    return out;
  }

 private:
  Result<Place> Existing(const std::string& path, bool follow) {
    ASSIGN_OR_RETURN(Place p, Resolve(path, follow));
    if (p.ino == 0) return PosixError(ENOENT, "absent");
    return p;
  }

  Result<Place> ResolveIn(Ino dir, const std::vector<std::string>& parts, bool follow, int* hops) {
    Place p;
    p.dir = dir;
    for (size_t i = 0; i < parts.size(); ++i) {
      const bool last = i + 1 == parts.size();
      Result<EntryOut> e = v_.Lookup(p.dir, parts[i], Cred());
      if (!e.ok()) {
        if (last && e.status().sys_errno() == ENOENT) {
          p.name = parts[i];
          p.ino = 0;
          return p;
        }
        return e.status();
      }
      Ref(e->ino);
      if (e->type == NodeType::kSymlink && (!last || follow)) {
        if (++*hops > 40) return PosixError(ELOOP, "symlink loop");
        ASSIGN_OR_RETURN(std::string target, v_.ReadLink(e->ino));
        ASSIGN_OR_RETURN(Place t, ResolveIn(p.dir, Split(target), true, hops));
        if (last) return t;
        if (t.ino == 0) return PosixError(ENOENT, "dangling");
        if (t.type != NodeType::kDir) return PosixError(ENOTDIR, "not a directory");
        p.dir = t.ino;
        continue;
      }
      if (last) {
        p.name = parts[i];
        p.ino = e->ino;
        p.type = e->type;
        return p;
      }
      if (e->type != NodeType::kDir) return PosixError(ENOTDIR, "not a directory");
      p.dir = e->ino;
    }
    return p;
  }

  void Ref(Ino ino) { ++refs_[ino]; }

  void Walk(Ino dir, const std::string& rel, TreeSnapshot* out,
            std::map<Ino, std::vector<std::string>>* inodes) {
    Result<Handle*> h = v_.OpenDir(dir, Cred());
    if (!h.ok()) {
      (*out)[rel.empty() ? "." : rel].error = "opendir: " + h.status().ToString();
      return;
    }
    std::vector<std::string> names;
    uint64_t off = 0;
    for (;;) {
      size_t got = 0;
      Status st = v_.ReadDir(*h, off, false, [&](const DirEntryOut& e) {
        ++got;
        off = e.next_off;
        if (e.name != "." && e.name != "..") names.push_back(e.name);
        return true;
      });
      if (!st.ok()) (*out)[rel.empty() ? "." : rel].error = "readdir: " + st.ToString();
      if (!st.ok() || got == 0) break;
    }
    v_.ReleaseDir(*h);
    for (const std::string& name : names) {
      const std::string r = rel.empty() ? name : rel + "/" + name;
      TreeEntry& t = (*out)[r];
      Result<EntryOut> e = v_.Lookup(dir, name, Cred());
      if (!e.ok()) {
        t.error = "lookup: " + e.status().ToString();
        continue;
      }
      Ref(e->ino);
      static const char kTypes[] = {'f', 'd', 'l', 'p', 's', 'c', 'b'};
      t.type = kTypes[static_cast<int>(e->type)];
      t.mode = e->attr.mode;
      t.uid = e->attr.uid;
      t.gid = e->attr.gid;
      if (t.type == 'f' || t.type == 'l') t.size = e->attr.size;
      if (t.type == 'l') {
        Result<std::string> target = v_.ReadLink(e->ino);
        if (target.ok()) t.target = *target;
      }
      if (t.type == 'f') t.content = Content(e->ino, &t.error);
      if (t.type == 'f' || t.type == 'd') Xattrs(e->ino, &t);
      if (t.type != 'd') (*inodes)[e->ino].push_back(r);
      if (t.type == 'd') Walk(e->ino, r, out, inodes);
    }
  }

  std::string Content(Ino ino, std::string* error) {
    Result<OpenOut> o = v_.Open(ino, O_RDONLY, Cred());
    if (!o.ok()) {
      *error = "open: " + o.status().ToString();
      return "";
    }
    core::Sha256 sha;
    for (uint64_t off = 0;;) {
      std::vector<Segment> segs;
      Status st = v_.Read(o->handle, off, 1 << 20, &segs);
      if (!st.ok()) {
        *error = "read: " + st.ToString();
        break;
      }
      size_t n = 0;
      for (const Segment& s : segs) {
        std::string buf(s.len, '\0');
        if (s.fd >= 0) {
          if (::pread(s.fd, buf.data(), s.len, static_cast<off_t>(s.pos)) !=
              static_cast<ssize_t>(s.len)) {
            *error = "pread failed";
          }
        } else {
          buf.assign(s.mem, s.len);
        }
        sha.Update(buf);
        n += s.len;
      }
      if (n == 0) break;
      off += n;
    }
    v_.Release(o->handle);
    return sha.Finish().Hex();
  }

  void Xattrs(Ino ino, TreeEntry* t) {
    Result<std::vector<std::string>> names = v_.ListXattr(ino, Cred());
    if (!names.ok()) return;
    for (const std::string& name : *names) {
      if (name.rfind("user.", 0) != 0) continue;
      Result<std::string> value = v_.GetXattr(ino, name, Cred());
      if (value.ok()) t->xattrs[name] = *value;
    }
  }

  View& v_;
  std::map<Ino, uint64_t> refs_;
};

class ViewRandomTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_umask_ = ::umask(kUmask);
    dir_ = stdfs::temp_directory_path() / ("snapvol-view-random-" + std::to_string(::getpid()));
    stdfs::remove_all(dir_);
    stdfs::create_directories(dir_);
    auto st = store::OpenStore((dir_ / "store").string(), core::Env::Default());
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(*st);
    engine_ = std::make_unique<volume::Engine>(store_.get(), core::Env::Default());
  }
  void TearDown() override {
    engine_.reset();
    store_.reset();
    if (!HasFailure()) stdfs::remove_all(dir_);
    ::umask(old_umask_);
  }

  std::unique_ptr<MountServer> Open(const std::string& volume, bool read_only) {
    MountOptions o;
    o.store = (dir_ / "store").string();
    o.volume = volume;
    o.mountpoint = "/unused";
    o.state_dir = (dir_ / "state").string();
    o.commit_interval = std::chrono::milliseconds(0);
    o.read_only = read_only;
    auto s = MountServer::Open(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  static SnapshotOptions Compared() {
    SnapshotOptions o;
    o.file_nlink = false;
    return o;
  }

  // Whether a fresh mount of `vol`'s head shows `model` (else the
  // differences in `why`).
  bool CheckHead(const std::string& vol, const std::string& model, std::string* why) {
    std::unique_ptr<MountServer> fresh = Open(vol, true);
    if (fresh == nullptr) return false;
    Driver d(fresh->view());
    TreeSnapshot head = d.Snapshot();
    for (auto& [path, e] : head) e.nlink = 0;
    std::vector<std::string> diff = testing::Diff(testing::Snapshot(model, Compared()), head);
    for (const std::string& line : diff) *why += "\n  " + line;
    return diff.empty();
  }

  // One seed; returns false (after reporting) on the first difference.
  bool RunSeed(uint64_t seed, const NamePool& pool, int steps) {
    const std::string vol = "r" + std::to_string(seed);
    EXPECT_TRUE(engine_->CreateVolume("main", vol, volume::CreateVolumeOptions()).ok());
    const std::string model = (dir_ / ("model" + std::to_string(seed))).string();
    stdfs::create_directories(model);
    std::unique_ptr<MountServer> s = Open(vol, false);
    if (s == nullptr) return false;
    Driver d(s->view());
    std::mt19937_64 rng(seed * 1000003 + 7);
    std::string failure;
    std::vector<std::string> log;
    int step = 0;
    // One operation: the model first; what it accepts the View must too.
    auto one = [&](const char* where) {
      if (!failure.empty() || step >= steps) return;
      const Op op = MakeOp(seed, 0, step++, pool);
      const testing::OpOutcome m = RunOp(model, op);
      if (m.err() != 0) return;
      log.push_back(std::string(where) + testing::Describe(op));
      Status st = d.Apply(op);
      if (!st.ok()) failure = "the view refused '" + testing::Describe(op) + "': " + st.ToString();
    };
    int during = 0;  // operations the running commit's window saw
    s->SetAfterPlanHookForTest([&] {
      for (uint64_t n = rng() % 4; n > 0; --n) {
        const int before = step;
        one("  (during a commit) ");
        during += step - before;
      }
    });
    while (step < steps && failure.empty()) {
      one("");
      const uint64_t r = rng() % 100;
      if (r < 6) {
        log.push_back("-- commit");
        during = 0;
        Result<CommitInfo> c =
            s->Commit(rng() % 2 ? CommitTrigger::kExplicit : CommitTrigger::kBackground);
        if (!c.ok()) {
          failure = "commit failed: " + c.status().ToString();
        } else if (during == 0 && !CheckHead(vol, model, &failure)) {
          failure =
              "after a commit nothing raced with, the head differs from the model: " + failure;
        }
      } else if (r < 11) {
        log.push_back("-- reload");
        Result<Invalidations> inv = s->Reload();
        if (!inv.ok()) failure = "reload failed: " + inv.status().ToString();
      } else if (r < 20) {
        d.ForgetSome(rng, 3);
      }
    }
    s->SetAfterPlanHookForTest(nullptr);
    const TreeSnapshot expected = testing::Snapshot(model, Compared());
    auto report = [&](const std::string& what, const TreeSnapshot& got) {
      std::vector<std::string> diff = testing::Diff(expected, got);
      if (diff.empty() && failure.empty()) return true;
      std::ostringstream out;
      out << "seed " << seed << ": " << (failure.empty() ? what : failure);
      for (const std::string& line : diff) out << "\n  " << line;
      out << "\noperations that ran:";
      for (const std::string& line : log) out << "\n  " << line;
      out << "\nreplay: SNAPVOL_VIEW_SEED=" << seed
          << " build/tests/fs/fs_test --gtest_filter='ViewRandom*'";
      ADD_FAILURE() << out.str();
      return false;
    };
    TreeSnapshot shown = d.Snapshot();
    for (auto& [path, e] : shown) e.nlink = 0;
    if (!report("the view differs from the model", shown)) return false;
    if (seed % 2 == 0) {
      Result<CommitInfo> c = s->Commit(CommitTrigger::kFinal);
      if (!c.ok()) failure = "final commit failed: " + c.status().ToString();
      s.reset();
    } else {
      // As if the server died now: recovery replays the journal.
      const std::string mount_dir = s->mount_dir();
      Result<volume::ChangeSet> cs = ReplayMountDir(mount_dir, &engine_->objects());
      if (!cs.ok()) {
        failure = "replay failed: " + cs.status().ToString();
      } else {
        auto vr = engine_->GetVolume("main", vol);
        auto c = engine_->Commit(*vr, *cs, volume::CommitOptions());
        if (!c.ok()) failure = "recovery commit failed: " + c.status().ToString();
      }
    }
    std::unique_ptr<MountServer> fresh = Open(vol, true);
    if (fresh == nullptr) return false;
    Driver fd(fresh->view());
    TreeSnapshot head = fd.Snapshot();
    for (auto& [path, e] : head) e.nlink = 0;
    if (!report(seed % 2 == 0 ? "after the final commit, a fresh mount differs from the model"
                              : "after recovery, a fresh mount differs from the model",
                head)) {
      return false;
    }
    stdfs::remove_all(model);
    return true;
  }

  void RunSeeds(const NamePool& pool) {
    const int steps = static_cast<int>(EnvNumber("SNAPVOL_VIEW_STEPS", 300));
    std::vector<uint64_t> seeds;
    if (uint64_t one = EnvNumber("SNAPVOL_VIEW_SEED", 0); one != 0) {
      seeds.push_back(one);
    } else {
      for (uint64_t i = 1; i <= EnvNumber("SNAPVOL_VIEW_SEEDS", 300); ++i) seeds.push_back(i);
    }
    for (uint64_t seed : seeds) {
      if (!RunSeed(seed, pool, steps)) return;
    }
  }

  mode_t old_umask_ = 0;
  stdfs::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<volume::Engine> engine_;
};

TEST_F(ViewRandomTest, ShowsAndCommitsWhatAPlainDirectoryShows) {
  NamePool pool;
  pool.hard_links = false;
  RunSeeds(pool);
}

}  // namespace
}  // namespace snapvol::fs
